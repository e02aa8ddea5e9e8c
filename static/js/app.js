// Small behaviours on top of server-rendered pages. Everything works without this file:
// the filters are a plain GET form and Info is a link to a page of its own.
(function () {
  "use strict";

  function detailsOf(button) {
    return document.getElementById(button.getAttribute("aria-controls"));
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
    if (target && target.classList.contains("event-details")) {
      target.hidden = false;
      var button = document.querySelector('[aria-controls="' + target.id + '"]');
      if (button) button.setAttribute("aria-expanded", "true");
    }
  });

  // Results are busy while a request runs, for assistive technology and for styling.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var results = document.getElementById("results");
    if (results && event.detail.target === results) results.setAttribute("aria-busy", "true");
  });

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
