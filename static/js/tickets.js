// Progressive enhancement for ticket pages; every page works without it.
(function () {
  "use strict";

  // While the subject is typed, suggest help articles from the knowledge-base search API.
  var form = document.getElementById("new-ticket");
  if (form && form.dataset.kbSearch) {
    var subject = form.querySelector("[name=subject]");
    var box = document.getElementById("kb-suggestions");
    var list = box.querySelector("ul");
    var opened = form.querySelector("[name=kb_suggestion_opened]");
    var timer = null;
    var lastQuery = "";
    var show = function (items) {
      list.textContent = "";
      items.slice(0, 5).forEach(function (item) {
        if (!item || !item.url || !item.title) { return; }
        var li = document.createElement("li");
        var a = document.createElement("a");
        a.href = item.url;
        a.textContent = item.title;
        a.target = "_blank";
        a.rel = "noopener";
        a.addEventListener("click", function () { opened.value = "1"; });
        li.appendChild(a);
        list.appendChild(li);
      });
      box.hidden = list.children.length === 0;
    };
    subject.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var q = subject.value.trim();
        if (q.length < 4 || q === lastQuery) { return; }
        lastQuery = q;
        fetch(form.dataset.kbSearch + "?q=" + encodeURIComponent(q), { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (data) {
            if (!data) { return; }
            show(Array.isArray(data) ? data : (data.results || data.articles || data.items || []));
          })
          .catch(function () { box.hidden = true; });
      }, 350);
    });
  }

  // Canned responses: insert into the reply box without reloading the page.
  var picker = document.querySelector(".canned-picker");
  var replyBody = document.querySelector(".reply-form textarea[name=body]");
  if (picker && replyBody) {
    picker.addEventListener("submit", function (event) {
      var select = picker.querySelector("select");
      event.preventDefault();
      fetch(picker.action.split("#")[0] + "?canned=" + encodeURIComponent(select.value), { credentials: "same-origin" })
        .then(function (r) { return r.text(); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var filled = doc.querySelector(".reply-form textarea[name=body]");
          if (filled) {
            replyBody.value = (replyBody.value ? replyBody.value + "\n\n" : "") + filled.value;
            replyBody.dispatchEvent(new Event("input", { bubbles: true }));  // kept on the device like typed text
            replyBody.focus();
          }
        });
    });
  }

  // A phone photo is often 3 to 8 MB: on a slow link it uploads for minutes, or past the limit is
  // refused. A JPEG photo is redrawn at most PHOTO_SIDE pixels on its long side before it is sent
  // (readable for support, a tenth of the weight), which also drops what its metadata says (where it
  // was taken). A file the browser cannot read as a picture, or not made smaller, is sent as picked;
  // screenshots (PNG) are left sharp. Then a file still over the size limit is refused at once, said
  // next to the field: sent, it would take minutes and, past the server's limit, lose the message.
  var PHOTO_SIDE = 1600;
  var PHOTO_FROM_BYTES = 400 * 1024;
  var PHOTO_QUALITY = 0.8;

  var sizeText = function (form, bytes) {
    var kb = bytes < 1024 * 1024;
    var number = new Intl.NumberFormat(document.documentElement.lang || undefined, { maximumFractionDigits: kb ? 0 : 1 });
    return (kb ? form.dataset.kilobytes : form.dataset.megabytes).replace("{n}", number.format(kb ? bytes / 1024 : bytes / 1048576));
  };

  var shrink = function (file) {
    if (file.type !== "image/jpeg" || file.size < PHOTO_FROM_BYTES || !window.createImageBitmap || !window.DataTransfer) {
      return Promise.resolve(file);
    }
    return createImageBitmap(file).then(function (bitmap) {
      var scale = Math.min(1, PHOTO_SIDE / Math.max(bitmap.width, bitmap.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(bitmap.width * scale));
      canvas.height = Math.max(1, Math.round(bitmap.height * scale));
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      if (bitmap.close) { bitmap.close(); }
      return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", PHOTO_QUALITY); });
    }).then(function (blob) {
      if (!blob || blob.size >= file.size) { return file; }
      return new File([blob], file.name, { type: "image/jpeg", lastModified: file.lastModified });
    }).catch(function () { return file; });
  };

  Array.prototype.forEach.call(document.querySelectorAll("form[data-max-bytes] input[type=file]"), function (input) {
    var form = input.form;
    var limit = parseInt(form.dataset.maxBytes, 10);
    var note = document.createElement("p");
    note.className = "error";
    note.setAttribute("role", "alert");
    note.hidden = true;
    var done = document.createElement("p");
    done.className = "hint";
    done.setAttribute("role", "status");
    done.hidden = true;
    input.parentNode.appendChild(note);
    input.parentNode.appendChild(done);
    var buttons = form.querySelectorAll("button[type=submit], input[type=submit], button:not([type])");
    var busy = function (on) {
      form.setAttribute("aria-busy", on ? "true" : "false");
      Array.prototype.forEach.call(buttons, function (button) { button.disabled = on; });
    };
    input.addEventListener("change", function () {
      var picked = Array.prototype.slice.call(input.files || []);
      done.hidden = true;
      busy(true);
      Promise.all(picked.map(shrink)).then(function (files) {
        var smaller = files.filter(function (file, i) { return file !== picked[i]; });
        if (smaller.length) {
          var list = new DataTransfer();
          files.forEach(function (file) { list.items.add(file); });
          input.files = list.files;
          done.textContent = files.map(function (file, i) {
            return file === picked[i] ? "" : form.dataset.shrunk.replace("{name}", file.name)
              .replace("{before}", sizeText(form, picked[i].size)).replace("{after}", sizeText(form, file.size));
          }).filter(Boolean).join(" ");
          done.hidden = false;
        }
        var big = files.filter(function (file) { return file.size > limit; });
        note.hidden = big.length === 0;
        note.textContent = big.map(function (file) { return form.dataset.tooLarge.replace("{name}", file.name); }).join(" ");
        if (big.length) { input.value = ""; done.hidden = true; }
      }).then(function () { busy(false); }, function () { busy(false); });
    });
  });

  // What is typed in a request or a reply is kept on the device while it is written (a phone's
  // browser may reload the page, the user may go and read an article), and given back if the form
  // comes back empty; sending it forgets it. Only the signed-in user's own drafts are kept: opening
  // such a form removes any other account's, and any older than DRAFT_DAYS.
  var DRAFT_PREFIX = "crvs-draft:";
  var DRAFT_DAYS = 3;
  var storage = null;
  try { storage = window.localStorage; storage.getItem(DRAFT_PREFIX); } catch (e) { storage = null; }
  Array.prototype.forEach.call(storage ? document.querySelectorAll("form[data-draft]") : [], function (form) {
    var key = DRAFT_PREFIX + form.dataset.draft;
    var owner = DRAFT_PREFIX + form.dataset.draft.split(":")[0] + ":";
    var now = Date.now();
    for (var i = storage.length - 1; i >= 0; i--) {
      var other = storage.key(i);
      if (!other || other.indexOf(DRAFT_PREFIX) !== 0) { continue; }
      var stale = true;
      try { stale = now - JSON.parse(storage.getItem(other)).at > DRAFT_DAYS * 86400000; } catch (e) { stale = true; }
      if (other.indexOf(owner) !== 0 || stale) { storage.removeItem(other); }
    }
    var fields = form.dataset.draftFields.split(" ").map(function (name) { return form.elements[name]; }).filter(Boolean);
    // Fields the page fills itself (an office) are not typing; a message box with text means the
    // server gave the form back (a refused send), which is newer than anything kept.
    var initial = fields.map(function (f) { return f.value; });
    var typed = function () { return fields.some(function (f, i) { return f.tagName !== "SELECT" && f.value.trim() && f.value !== initial[i]; }); };
    var answered = fields.some(function (f) { return f.tagName === "TEXTAREA" && f.value.trim(); });
    var kept = null;
    try { kept = JSON.parse(storage.getItem(key)); } catch (e) { kept = null; }
    if (kept && kept.values && !answered) {
      fields.forEach(function (f) { if (typeof kept.values[f.name] === "string") { f.value = kept.values[f.name]; } });
      var note = document.createElement("p");
      note.className = "notice draft-kept";
      note.setAttribute("role", "status");
      note.textContent = form.dataset.draftRestored + " ";
      var discard = document.createElement("button");
      discard.type = "button";
      discard.className = "link-button";
      discard.textContent = form.dataset.draftDiscard;
      discard.addEventListener("click", function () {
        storage.removeItem(key);
        fields.forEach(function (f, i) { f.value = initial[i]; });
        note.remove();
      });
      note.appendChild(discard);
      form.insertBefore(note, form.firstChild);
    }
    var timer = null;
    var save = function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        if (!typed()) { storage.removeItem(key); return; }
        var values = {};
        fields.forEach(function (f) { values[f.name] = f.value; });
        try { storage.setItem(key, JSON.stringify({ at: Date.now(), values: values })); } catch (e) { /* full or refused: nothing kept */ }
      }, 400);
    };
    form.addEventListener("input", save);
    form.addEventListener("change", save);
    form.addEventListener("submit", function () { clearTimeout(timer); storage.removeItem(key); });
  });
})();
