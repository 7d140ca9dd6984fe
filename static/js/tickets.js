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
          if (filled) { replyBody.value = (replyBody.value ? replyBody.value + "\n\n" : "") + filled.value; replyBody.focus(); }
        });
    });
  }

  // A file over the size limit is refused when it is picked, said next to the field: sent, it would
  // take minutes on a slow link and, past the server's limit, lose the whole message with it.
  Array.prototype.forEach.call(document.querySelectorAll("form[data-max-bytes] input[type=file]"), function (input) {
    var form = input.form;
    var limit = parseInt(form.dataset.maxBytes, 10);
    var note = document.createElement("p");
    note.className = "error";
    note.setAttribute("role", "alert");
    note.hidden = true;
    input.parentNode.appendChild(note);
    input.addEventListener("change", function () {
      var big = Array.prototype.filter.call(input.files || [], function (file) { return file.size > limit; });
      note.hidden = big.length === 0;
      note.textContent = big.map(function (file) { return form.dataset.tooLarge.replace("{name}", file.name); }).join(" ");
      if (big.length) { input.value = ""; }
    });
  });
})();
