// Info's small behaviours: the raw event's Copy button. Without this file the JSON is still
// there to select; the button stays hidden until this script can make it work.
(function () {
  "use strict";

  function reveal(root) {
    if (!navigator.clipboard) return;
    root.querySelectorAll("button.copy-button[hidden]").forEach(function (button) {
      button.hidden = false;
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button.copy-button");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    navigator.clipboard.writeText(source.textContent).then(function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy"; }, 2000);
    }, function () {
      button.textContent = "Copy failed: select the text";
    });
  });

  document.addEventListener("htmx:afterSwap", function (event) { reveal(event.detail.target); });
  document.addEventListener("DOMContentLoaded", function () { reveal(document); });
})();
