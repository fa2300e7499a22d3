// Search page enhancements (the page works without them): photo by drag-and-drop,
// paste and auto-submit; crop by dragging a rectangle; copy share link; brand correction
// on change. No user data is ever put into HTML here: only values and textContent.
(function () {
  "use strict";
  var form = document.getElementById("search-form");
  var zone = document.getElementById("dropzone");
  var photoInput = document.getElementById("photo-input");

  function submitWith(file) {
    if (!form || !photoInput || !file) return;
    if (file.type && file.type.indexOf("image/") !== 0) return;
    try {
      var dt = new DataTransfer();
      dt.items.add(file);
      photoInput.files = dt.files;
    } catch (e) {
      return; // very old browser: the file buttons still work
    }
    var crop = document.getElementById("crop-input");
    if (crop) crop.value = "";   // a crop belongs to the previous photo
    if (zone) zone.classList.add("busy");
    form.submit();
  }

  if (form) {
    ["photo-input", "camera-input"].forEach(function (id) {
      var input = document.getElementById(id);
      if (!input) return;
      input.addEventListener("change", function () {
        if (input.files && input.files.length) {
          var crop = document.getElementById("crop-input");
          if (crop) crop.value = "";
          if (zone) zone.classList.add("busy");
          form.submit();
        }
      });
    });
  }

  if (zone) {
    ["dragenter", "dragover"].forEach(function (ev) {
      zone.addEventListener(ev, function (e) { e.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (ev) {
      zone.addEventListener(ev, function (e) { e.preventDefault(); zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (e) {
      var files = e.dataTransfer && e.dataTransfer.files;
      if (files && files.length) submitWith(files[0]);
    });
  }

  // Paste a screenshot anywhere on the page.
  document.addEventListener("paste", function (e) {
    var items = (e.clipboardData && e.clipboardData.items) || [];
    for (var i = 0; i < items.length; i++) {
      if (items[i].kind === "file" && items[i].type.indexOf("image/") === 0) {
        e.preventDefault();
        submitWith(items[i].getAsFile());
        return;
      }
    }
  });

  // The photo opens to its crop tools on wide screens; on a phone it stays a thumbnail
  // (tap to open) so the results start on the first screen.
  var photoBox = document.getElementById("photo-box");
  if (photoBox && window.matchMedia("(min-width: 720px)").matches) { photoBox.open = true; }

  // Crop: drag a rectangle on the photo; the field holds x,y,w,h in photo pixels.
  var wrap = document.getElementById("crop-wrap");
  var img = document.getElementById("crop-img");
  var rect = document.getElementById("crop-rect");
  var cropInput = document.getElementById("crop-input");
  if (wrap && img && rect && cropInput) {
    var start = null;
    var scale = function () { return img.naturalWidth / img.clientWidth || 1; };
    var show = function (x, y, w, h) {
      rect.hidden = false;
      rect.style.left = x + "px"; rect.style.top = y + "px";
      rect.style.width = w + "px"; rect.style.height = h + "px";
    };
    var pos = function (e) {
      var b = img.getBoundingClientRect();
      return { x: Math.min(Math.max(e.clientX - b.left, 0), b.width), y: Math.min(Math.max(e.clientY - b.top, 0), b.height) };
    };
    var fromField = function () {
      var m = /^(\d+),(\d+),(\d+),(\d+)$/.exec(cropInput.value.trim());
      if (!m || !img.naturalWidth || !img.clientWidth) return;   // not shown yet (a closed thumbnail)
      var s = scale();
      show(+m[1] / s, +m[2] / s, +m[3] / s, +m[4] / s);
    };
    if (img.complete) fromField(); else img.addEventListener("load", fromField);
    if (photoBox) photoBox.addEventListener("toggle", fromField);
    wrap.addEventListener("pointerdown", function (e) {
      e.preventDefault();
      start = pos(e);
      wrap.setPointerCapture(e.pointerId);
      show(start.x, start.y, 0, 0);
    });
    wrap.addEventListener("pointermove", function (e) {
      if (!start) return;
      var p = pos(e);
      show(Math.min(start.x, p.x), Math.min(start.y, p.y), Math.abs(p.x - start.x), Math.abs(p.y - start.y));
    });
    wrap.addEventListener("pointerup", function (e) {
      if (!start) return;
      var p = pos(e), s = scale();
      var x = Math.min(start.x, p.x), y = Math.min(start.y, p.y);
      var w = Math.abs(p.x - start.x), h = Math.abs(p.y - start.y);
      start = null;
      if (w < 8 || h < 8) { rect.hidden = true; cropInput.value = ""; return; }
      var X = Math.round(x * s), Y = Math.round(y * s);
      var Wd = Math.min(Math.round(w * s), img.naturalWidth - X), Hd = Math.min(Math.round(h * s), img.naturalHeight - Y);
      cropInput.value = [X, Y, Wd, Hd].join(",");
    });
    cropInput.addEventListener("change", fromField);

    // The products found on the photo, outlined and numbered as their chips are.
    var chips = document.querySelectorAll("#objects .chip[data-box]");
    var drawObjects = function () {
      if (!img.naturalWidth || !img.clientWidth) return;
      Array.prototype.forEach.call(wrap.querySelectorAll(".object-box"), function (el) { el.remove(); });
      var s = scale();
      Array.prototype.forEach.call(chips, function (chip) {
        var m = /^(\d+),(\d+),(\d+),(\d+)$/.exec(chip.getAttribute("data-box") || "");
        if (!m) return;
        var el = document.createElement("div");
        el.className = "object-box" + (chip.classList.contains("on") ? " on" : "");
        el.style.left = (+m[1] / s) + "px"; el.style.top = (+m[2] / s) + "px";
        el.style.width = (+m[3] / s) + "px"; el.style.height = (+m[4] / s) + "px";
        var n = document.createElement("span");
        n.className = "n";
        n.textContent = chip.getAttribute("data-n") || "";
        el.appendChild(n);
        wrap.appendChild(el);
      });
    };
    if (chips.length) {
      if (img.complete) drawObjects(); else img.addEventListener("load", drawObjects);
      if (photoBox) photoBox.addEventListener("toggle", drawObjects);
      window.addEventListener("resize", drawObjects);
    }
  }

  // The share link: without a configured public URL the server gives a root-relative
  // link (it never trusts the Host header); the browser knows the address it is on.
  var shareField = document.getElementById("share-url");
  if (shareField && shareField.value.charAt(0) === "/") {
    shareField.value = new URL(shareField.value, window.location.href).href;
  }

  // Copy the share link.
  Array.prototype.forEach.call(document.querySelectorAll("button.copy[data-copy]"), function (btn) {
    btn.addEventListener("click", function () {
      var text = btn.getAttribute("data-copy");
      if (text && text.charAt(0) === "/") { text = new URL(text, window.location.href).href; }
      var done = function () { btn.textContent = btn.getAttribute("data-done") || "OK"; };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(done, function () {});
      } else {
        var field = document.getElementById("share-url");
        if (field) { field.select(); try { document.execCommand("copy"); done(); } catch (e) {} }
      }
    });
  });

  // Brand correction and grouping apply on change.
  var brandSelect = document.getElementById("brand-select");
  if (brandSelect && brandSelect.form) {
    brandSelect.addEventListener("change", function () { if (brandSelect.value) brandSelect.form.submit(); });
  }
})();
