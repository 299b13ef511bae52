/* The agent console: keyboard handling and what a click on a suggestion does.
   The form itself works without this script; htmx fetches the suggestions. */
(function () {
  "use strict";

  var form = document.getElementById("intake-form");
  if (!form) return;

  function field(name) { return form.elements.namedItem(name); }

  // -- submitting ------------------------------------------------------------------------------

  var submit = document.getElementById("submit-call");

  // Ctrl+Enter (⌘+Enter) sends the call from anywhere on the page; a plain Enter in a one-line
  // field does not (an agent presses Enter out of habit, mid-call).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.isComposing) return;
    if (event.ctrlKey || event.metaKey) {
      event.preventDefault();
      if (!submit.disabled) form.requestSubmit(submit);
      return;
    }
    var target = event.target;
    if (form.contains(target) && target.tagName === "INPUT") event.preventDefault();
  });

  form.addEventListener("submit", function () {
    // One press, one call. (The server also refuses the same form twice.)
    window.setTimeout(function () { submit.disabled = true; }, 0);
  });
  window.addEventListener("pageshow", function () { submit.disabled = false; });

  // -- outcome ---------------------------------------------------------------------------------

  function chosenOutcome() {
    var checked = form.querySelector("input[name=outcome]:checked");
    return checked ? checked.value : "dispatch";
  }

  function showOutcome() {
    var outcome = chosenOutcome();
    Array.prototype.forEach.call(form.querySelectorAll("[data-outcome]"), function (block) {
      block.hidden = block.dataset.outcome !== outcome;
    });
    var label = submit.dataset["label" + outcome.charAt(0).toUpperCase() + outcome.slice(1)];
    if (label) submit.textContent = label;
  }

  function setOutcome(value) {
    var radio = form.querySelector("input[name=outcome][value=" + value + "]");
    if (radio) radio.checked = true;
    showOutcome();
  }

  form.addEventListener("change", function (event) {
    if (event.target.name === "outcome") showOutcome();
  });
  showOutcome();

  // -- suggestions -----------------------------------------------------------------------------

  function pickCategory(button) {
    var select = field("category");
    var filter = document.querySelector('input[data-filter-for="' + select.id + '"]');
    if (button.dataset.pickCategory) {
      if (filter && filter.value) {
        filter.value = "";
        filter.dispatchEvent(new Event("input"));
      }
      select.value = button.dataset.pickCategory;
      select.dispatchEvent(new Event("change", { bubbles: true }));
    } else if (filter) {
      // The model names the class only: narrow the list to it and let the agent choose.
      filter.value = button.dataset.group;
      filter.dispatchEvent(new Event("input"));
    }
    Array.prototype.forEach.call(document.querySelectorAll("[data-pick-category]"), function (b) {
      b.setAttribute("aria-pressed", b === button ? "true" : "false");
    });
    select.focus();
  }

  function useArticle(button) {
    field("article").value = button.dataset.useArticle;
    field("answer").value = button.dataset.answer;
    var type = field("request_type");
    if (type) type.value = "consultation";
    var source = document.getElementById("answer-source");
    if (source) source.textContent = (source.dataset.prefix || "") + " " + button.dataset.title;
    setOutcome("answer");
    field("answer").focus();
  }

  function mergeInto(button) {
    field("merge_into").value = button.dataset.mergeInto;
    setOutcome("merge");
    field("merge_into").focus();
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest("button");
    if (!target) return;
    if (target.hasAttribute("data-pick-category")) pickCategory(target);
    else if (target.hasAttribute("data-use-article")) useArticle(target);
    else if (target.hasAttribute("data-merge-into")) mergeInto(target);
    else if (target.hasAttribute("data-clear-place")) clearPlace(true);
  });

  // -- address autocomplete (a combobox over the jurisdiction's place names) -------------------

  var address = field("address");
  var street = field("street");
  var box = document.getElementById("place-box");
  var picked = "";

  function list() { return document.getElementById("place-list"); }
  function options() {
    var ul = list();
    return ul && !ul.hidden ? Array.prototype.slice.call(ul.querySelectorAll("[role=option]")) : [];
  }
  function activeIndex() {
    return options().findIndex(function (o) { return o.getAttribute("aria-selected") === "true"; });
  }
  function setActive(index) {
    var all = options();
    all.forEach(function (o, i) { o.setAttribute("aria-selected", i === index ? "true" : "false"); });
    if (all[index]) {
      address.setAttribute("aria-activedescendant", all[index].id);
      all[index].scrollIntoView({ block: "nearest" });
    } else {
      address.removeAttribute("aria-activedescendant");
    }
  }
  function closeList() {
    var ul = list();
    if (ul) { ul.hidden = true; ul.innerHTML = ""; }
    address.setAttribute("aria-expanded", "false");
    address.removeAttribute("aria-activedescendant");
  }

  function pick(option) {
    var name = option.dataset.name;
    var fragment = option.dataset.fragment;
    var value = address.value;
    if (fragment && value.slice(-fragment.length) === fragment) {
      value = value.slice(0, value.length - fragment.length) + name;
    } else if (value.indexOf(name) === -1) {
      value = name;
    }
    address.value = value;
    street.value = option.dataset.streetId;
    picked = name;
    var located = document.getElementById("place-located");
    if (located) {
      located.innerHTML = "";
      var arrow = document.createElement("span");
      arrow.textContent = "→";
      var where = document.createElement("strong");
      where.className = "located-where";
      where.textContent = option.dataset.located;
      var how = document.createElement("span");
      how.className = "muted located-how";
      how.textContent = "(" + box.dataset.pickedText + ")";
      located.append(arrow, " ", where, " ", how);
    }
    closeList();
    address.focus();
    document.body.dispatchEvent(new CustomEvent("placepicked"));
  }

  function clearPlace(announce) {
    street.value = "";
    picked = "";
    var located = document.getElementById("place-located");
    if (located) located.innerHTML = "";
    if (announce) {
      address.focus();
      document.body.dispatchEvent(new CustomEvent("placepicked"));
    }
  }

  address.addEventListener("input", function () {
    // Typing on keeps the picked place while the address still names it.
    if (street.value && (!picked || address.value.indexOf(picked) === -1)) clearPlace(false);
  });

  address.addEventListener("keydown", function (event) {
    var all = options();
    if (event.key === "ArrowDown" && all.length) {
      event.preventDefault();
      setActive(Math.min(activeIndex() + 1, all.length - 1));
    } else if (event.key === "ArrowUp" && all.length) {
      event.preventDefault();
      setActive(Math.max(activeIndex() - 1, 0));
    } else if (event.key === "Enter" && !event.ctrlKey && !event.metaKey) {
      var index = activeIndex();
      if (index >= 0) {
        event.preventDefault();
        pick(all[index]);
      } else if (all.length === 1) {
        event.preventDefault();
        pick(all[0]);
      }
    } else if (event.key === "Escape" && all.length) {
      event.preventDefault();
      closeList();
    }
  });

  address.addEventListener("blur", function () {
    window.setTimeout(function () { if (document.activeElement !== address) closeList(); }, 150);
  });

  box.addEventListener("mousedown", function (event) {
    if (event.target.closest("[role=option]")) event.preventDefault();  // keep the focus
  });
  box.addEventListener("click", function (event) {
    var option = event.target.closest("[role=option]");
    if (option) pick(option);
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target === box) {
      if (document.activeElement !== address) closeList();
      address.setAttribute("aria-expanded", options().length ? "true" : "false");
      address.removeAttribute("aria-activedescendant");
    }
  });
})();
