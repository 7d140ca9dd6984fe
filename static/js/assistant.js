// Progressive enhancement of the assistant chat (page and panel): ask and give feedback without
// reloading the page. Without this script the same forms post and the page reloads.
(function () {
  "use strict";
  if (!window.fetch || !window.FormData) { return; }

  function post(form) {
    return fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { "Accept": "application/json" },
      credentials: "same-origin"
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    });
  }

  function errorText(data) {
    return (data && data.error && data.error.message) || "";
  }

  function showMessage(place, text, kind) {
    var p = document.createElement("p");
    p.className = "flash flash-" + kind;
    p.setAttribute("role", "status");
    p.textContent = text;
    place.replaceChildren(p);
  }

  function ask(event) {
    var form = event.target.closest("[data-assistant-form]");
    if (!form) { return; }
    var root = form.closest("[data-assistant]");
    var log = root && root.querySelector("[data-assistant-log]");
    var input = form.querySelector("[name=message]");
    if (!log || !input || !input.value.trim()) { return; }
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; }
    // The question shows at once, with a sign that the answer is coming (seconds on a slow link).
    var pending = document.createElement("li");
    pending.className = "assistant-turn assistant-pending";
    pending.setAttribute("aria-busy", "true");
    var question = document.createElement("p");
    question.className = "assistant-question";
    question.textContent = input.value.trim();
    var waiting = document.createElement("p");
    waiting.className = "assistant-reply muted";
    waiting.setAttribute("role", "status");
    waiting.textContent = form.getAttribute("data-pending") || "…";
    pending.append(question, waiting);
    log.appendChild(pending);
    pending.scrollIntoView({ block: "nearest" });
    post(form).then(function (result) {
      pending.remove();
      if (!result.ok) {
        var status = document.createElement("li");
        log.appendChild(status);
        showMessage(status, errorText(result.data), "error");
        return;
      }
      log.querySelectorAll("[data-assistant-feedback]").forEach(function (el) { el.remove(); });
      var empty = root.querySelector("[data-assistant-empty]");
      if (empty) { empty.remove(); }
      log.insertAdjacentHTML("beforeend", result.data.html);
      input.value = "";
      var last = log.lastElementChild;
      if (last) { last.scrollIntoView({ block: "nearest" }); }
    }).catch(function () {
      pending.remove();
      form.submit();  // the network failed: fall back to a normal post
    }).finally(function () {
      if (button) { button.disabled = false; }
    });
  }

  function act(event) {
    var form = event.target.closest("[data-assistant-action]");
    if (!form) { return; }
    event.preventDefault();
    var place = form.closest("[data-assistant-feedback]") || form;
    post(form).then(function (result) {
      if (result.ok) {
        showMessage(place, result.data.message, "success");
      } else {
        var status = form.querySelector(".assistant-status") || document.createElement("p");
        status.className = "assistant-status error";
        status.textContent = errorText(result.data);
        form.appendChild(status);
      }
    }).catch(function () { form.submit(); });
  }

  document.addEventListener("submit", function (event) {
    if (event.target.matches("[data-assistant-form]")) { ask(event); }
    else if (event.target.matches("[data-assistant-action]")) { act(event); }
  });
})();
