// Small progressive enhancements for the support form and the appeal box; both work
// without them (the server names the fee for the amount it shows, and always recomputes it).
(function () {
  "use strict";

  // Mirrors donations.money.to_minor: digits, one decimal point or comma, no more decimal
  // places than the currency has. Returns null for anything that is not money.
  var AMOUNT = /^(\d{1,12})(?:[.,](\d{1,12}))?$/;

  function toMinor(text, places) {
    var match = AMOUNT.exec(text.trim());
    if (!match) return null;
    var fraction = match[2] || "";
    if (fraction.length === 3 && places !== 3 && text.indexOf(",") !== -1) return null;
    fraction = fraction.replace(/0+$/, "");
    if (fraction.length > places) return null;
    while (fraction.length < places) fraction += "0";
    return parseInt(match[1], 10) * Math.pow(10, places) + (parseInt(fraction, 10) || 0);
  }

  // Mirrors donations.support.services.fee_to_cover: the total that leaves the whole gift
  // once the fee on it is taken, ceil((amount + fixed) / (1 - rate)), in whole numbers
  // (the rate is an exact fraction, so the division is exact enough to round up safely).
  function feeToCover(amount, model) {
    var numerator = model.rate[0], denominator = model.rate[1];
    var total = Math.ceil(((amount + model.fixed) * denominator) / (denominator - numerator));
    return total - amount;
  }

  function formatMoney(minor, currency, places) {
    return new Intl.NumberFormat("en-US", { style: "currency", currency: currency })
      .format(minor / Math.pow(10, places));
  }

  function chosenAmount(form) {
    var other = form.querySelector("input[name=other_amount]");
    if (other && other.value.trim()) return other.value.trim();
    var preset = form.querySelector("input[name=amount]:checked");
    return preset ? preset.value : "";
  }

  // "Add $0.61 to cover card fees", kept in step with the amount and currency.
  function followFees(form) {
    var label = form.querySelector("[data-fee-label]");
    var currency = form.querySelector("[name=currency]");
    if (!label || !currency) return function () {};
    var models = JSON.parse(form.getAttribute("data-fee-model"));
    function update() {
      var model = models[currency.value];
      var amount = model ? toMinor(chosenAmount(form), model.places) : null;
      if (amount === null) {
        label.textContent = label.getAttribute("data-label-unknown");
      } else {
        var fee = formatMoney(feeToCover(amount, model), currency.value, model.places);
        label.textContent = label.getAttribute("data-label").replace("{fee}", fee);
      }
    }
    form.addEventListener("change", update);
    form.addEventListener("input", update);
    return update;
  }

  var appeal = document.querySelector(".appeal-box[data-fee-model]");
  if (appeal) followFees(appeal);

  var form = document.getElementById("donate-form");
  if (!form) return;
  var other = form.querySelector("#other_amount");
  var currency = form.querySelector("#currency");
  var remind = document.getElementById("remind-link");
  var updateFee = followFees(form);

  function frequency() {
    var checked = form.querySelector("input[name=frequency]:checked");
    return checked ? checked.value : "once";
  }

  function checkedPreset() {
    return form.querySelector("input[name=amount]:checked");
  }

  function updateRemindLink() {
    if (!remind) return;
    var params = new URLSearchParams({
      frequency: frequency(),
      amount: chosenAmount(form),
      currency: currency.value
    });
    remind.href = "/remind?" + params.toString();
  }

  form.addEventListener("change", function (event) {
    var target = event.target;
    if (target.name === "frequency") {
      var preset = checkedPreset();
      var group = form.querySelector(".presets-" + target.value);
      if (!other.value.trim() && (!preset || !group.contains(preset))) {
        var choices = group.querySelectorAll("input[name=amount]");
        if (choices.length) choices[Math.min(1, choices.length - 1)].checked = true;
      }
    } else if (target.name === "amount") {
      other.value = "";
    } else if (target === currency) {
      form.querySelectorAll("label[data-labels]").forEach(function (label) {
        var labels = JSON.parse(label.getAttribute("data-labels"));
        if (labels[currency.value]) label.textContent = labels[currency.value];
      });
      form.querySelectorAll(".currency-code").forEach(function (span) {
        span.textContent = "(" + currency.value + ")";
      });
    }
    updateRemindLink();
    updateFee();
  });

  other.addEventListener("input", function () {
    if (other.value.trim()) {
      var preset = checkedPreset();
      if (preset) preset.checked = false;
    }
    updateRemindLink();
  });
})();
