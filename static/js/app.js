// Small behaviours on top of server-rendered pages. Everything works without this file:
// the filters are a plain GET form and Info is a link to a page of its own.
(function () {
  "use strict";

  function detailsOf(button) {
    return document.getElementById(button.getAttribute("aria-controls"));
  }

  // Show a row's details and mark its Info button expanded.
  function expand(details) {
    details.hidden = false;
    var button = document.querySelector('[aria-controls="' + details.id + '"]');
    if (button) button.setAttribute("aria-expanded", "true");
  }

  function collapse(button) {
    var details = detailsOf(button);
    if (details) {
      details.hidden = true;
      details.innerHTML = "";
    }
    button.setAttribute("aria-expanded", "false");
  }

  // A second click on Info collapses the row instead of fetching it again.
  document.addEventListener("htmx:confirm", function (event) {
    var el = event.detail.elt;
    if (el.classList && el.classList.contains("info-toggle") &&
        el.getAttribute("aria-expanded") === "true") {
      event.preventDefault();
      collapse(el);
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.classList.contains("event-details")) expand(target);
  });

  // Back and Forward reload the page from the server. The history cache is off (the log is not
  // kept in the browser's storage), and htmx's own restore request asks with HX-Request, for
  // which the server answers only the results partial: the whole page would become the list.
  if (window.htmx) window.htmx.config.refreshOnHistoryMiss = true;

  // Results are busy while a request runs, for assistive technology and for styling.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var results = document.getElementById("results");
    if (results && event.detail.target === results) {
      results.setAttribute("aria-busy", "true");
      var stale = results.querySelector(".request-error");
      if (stale) stale.remove();
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var target = event.detail.target;
    if (target && target.id === "results") target.setAttribute("aria-busy", "false");
  });

  // A request that fails is not swapped: say so, instead of leaving the list as it was (or
  // the Info row closed) without a word. An aborted request (leaving the page) says nothing.
  function reportFailure(event) {
    var target = event.detail.target;
    if (!target || !target.isConnected) return;
    var status = event.detail.xhr && event.detail.xhr.status;
    var what = target.id === "results" ? "The events" : "The details of this event";
    var message = document.createElement("p");
    message.className = "filter-errors request-error";
    message.setAttribute("role", "alert");
    message.textContent = status
      ? what + " could not be loaded (error " + status + "). Reload the page and try again."
      : what + " could not be loaded. Check your connection and try again.";
    if (target.id === "results") {
      target.insertBefore(message, target.firstChild);
    } else if (target.classList.contains("event-details")) {
      target.innerHTML = "";
      target.appendChild(message);
      expand(target);
    }
  }
  document.addEventListener("htmx:responseError", reportFailure);
  document.addEventListener("htmx:sendError", reportFailure);

  // A preset date range clears custom dates; typing a date selects "Custom".
  document.addEventListener("change", function (event) {
    var el = event.target;
    var form = el.form;
    if (!form || form.id !== "filters") return;
    if (el.name === "range" && el.value !== "custom") {
      form.elements.start.value = "";
      form.elements.end.value = "";
    } else if ((el.name === "start" || el.name === "end") && el.value) {
      form.elements.range.value = "custom";
    }
  }, true);

  // Close the Account menu when clicking elsewhere or pressing Escape.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.account-menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.account-menu[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      menu.querySelector("summary").focus();
    });
  });
})();
