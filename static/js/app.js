// Small behaviours on top of server-rendered pages. Everything works without this file:
// the filters are a plain GET form and Info is a link to a page of its own.
(function () {
  "use strict";

  function detailsOf(button) {
    return document.getElementById(button.getAttribute("aria-controls"));
  }

  // Info: a link to the event's page without JavaScript; with it, a disclosure button that
  // opens the details under the row (Enter and Space, aria-expanded, its own name per row).
  function upgradeInfoLinks(root) {
    (root || document).querySelectorAll("a.info-link").forEach(function (link) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = link.className.replace("info-link", "info-toggle");
      button.innerHTML = link.innerHTML;
      button.setAttribute("aria-expanded", "false");
      button.setAttribute("aria-controls", link.dataset.details);
      button.dataset.url = link.getAttribute("href");
      link.replaceWith(button);
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button.info-toggle");
    if (!button) return;
    if (button.getAttribute("aria-expanded") === "true") {
      collapse(button);
    } else if (window.htmx) {
      window.htmx.ajax("GET", button.dataset.url, {
        source: button, target: detailsOf(button), swap: "innerHTML"
      });
    }
  });

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

  // A preset date range clears custom dates; typing a date selects "Custom". A date being
  // typed changes with every digit of its year: the form hears "dates-changed" instead, which
  // its hx-trigger delays until the typing pauses.
  document.addEventListener("change", function (event) {
    var el = event.target;
    var form = el.form;
    if (!form || form.id !== "filters") return;
    if (el.name === "range" && el.value !== "custom") {
      form.elements.start.value = "";
      form.elements.end.value = "";
    } else if (el.name === "start" || el.name === "end") {
      if (el.value) form.elements.range.value = "custom";
      event.stopPropagation();
      el.dispatchEvent(new CustomEvent("dates-changed", { bubbles: true }));
    }
  }, true);

  // After Older or Newer, show the top of the new page and move focus to its heading
  // ("Events 51–100"), instead of leaving the view at the bottom and focus nowhere.
  var focusPageTop = false;
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    focusPageTop = !!(elt && elt.closest && elt.closest(".pager"));
  });
  document.addEventListener("htmx:afterSettle", function () {
    upgradeInfoLinks();
    watchForNewEvents();
    if (!focusPageTop) return;
    focusPageTop = false;
    var heading = document.getElementById("results-position");
    if (heading) {
      heading.focus({ preventScroll: true });
      heading.scrollIntoView({ block: "start" });
    }
  });

  // New events: while the page is visible, ask every few seconds (one cheap query) whether
  // events newer than the newest shown have arrived, and offer them; the click refreshes the
  // list like Refresh does.
  var poll = null;
  var polled = null;  // the results element the timer was set for
  function newEventsUrl() {
    var results = document.getElementById("results");
    return results && results.dataset.newEventsUrl;
  }
  var asking = false;
  function checkNewEvents() {
    var url = newEventsUrl();
    // Not while hidden, while a check is under way, or while the list itself is reloading.
    if (!url || asking || document.visibilityState !== "visible") return;
    if (document.getElementById("results").getAttribute("aria-busy") === "true") return;
    asking = true;
    fetch(url, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        var slot = document.getElementById("new-events");
        if (html === null || !slot || newEventsUrl() !== url) return;
        if (slot.innerHTML.trim() !== html.trim()) slot.innerHTML = html;
      })
      .catch(function () { /* offline for a moment: the next check tries again */ })
      .then(function () { asking = false; });
  }
  function watchForNewEvents() {
    var results = document.getElementById("results");
    if (results === polled) return;
    if (poll) clearInterval(poll);
    poll = null;
    polled = results;
    if (!newEventsUrl()) return;
    var seconds = parseFloat(results.dataset.pollSeconds) || 15;
    poll = setInterval(checkNewEvents, seconds * 1000);
  }
  document.addEventListener("visibilitychange", checkNewEvents);
  document.addEventListener("click", function (event) {
    if (!(event.target.closest && event.target.closest("[data-refresh-results]"))) return;
    var form = document.getElementById("filters");
    if (form) form.requestSubmit();
  });

  // On a phone the filters start folded behind their "Filters" button, so the first screen
  // shows events; a filter with an error stays open.
  function foldFiltersOnPhones() {
    var panel = document.getElementById("filters-panel");
    if (!panel || !window.matchMedia("(max-width: 820px)").matches) return;
    if (!panel.querySelector("[aria-invalid=true]")) panel.open = false;
  }

  function ready() {
    foldFiltersOnPhones();
    upgradeInfoLinks();
    watchForNewEvents();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }

  // The Local/UTC switch returns to the page as it is now: filters and paging change the
  // address without reloading the page, which rendered the switch with the first address.
  document.addEventListener("submit", function (event) {
    var form = event.target.closest && event.target.closest("form.times-switch");
    if (!form) return;
    form.querySelector("input[name=next]").value = location.pathname + location.search;
  });

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
