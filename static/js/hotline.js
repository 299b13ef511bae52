/* Small helpers for the order pages. Everything works without them. */
(function () {
  "use strict";

  // A search box above a long unit select: hide the options whose name does not match.
  function bindFilter(input) {
    var select = document.getElementById(input.dataset.filterFor);
    if (!select || input.dataset.bound) return;
    input.dataset.bound = "1";
    input.addEventListener("input", function () {
      var needle = input.value.trim().toLowerCase();
      Array.prototype.forEach.call(select.querySelectorAll("optgroup"), function (group) {
        var groupHit = group.label.toLowerCase().indexOf(needle) !== -1;
        var any = false;
        Array.prototype.forEach.call(group.querySelectorAll("option"), function (option) {
          var hit = !needle || groupHit || option.text.toLowerCase().indexOf(needle) !== -1;
          option.hidden = !hit;
          any = any || hit;
        });
        group.hidden = !any;
      });
    });
  }

  function init(root) {
    Array.prototype.forEach.call(root.querySelectorAll("input[data-filter-for]"), bindFilter);
  }

  // A form marked data-remove-after-request goes away once its htmx request succeeded
  // (the phone's "show" button: the number is there now). No inline handlers: the CSP forbids them.
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.target.closest && event.target.closest("[data-remove-after-request]");
    if (form && event.detail.successful) form.remove();
  });

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (event) { init(event.target); });
})();
