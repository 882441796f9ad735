// Small progressive enhancements for the support form and the appeal box; both work
// without them (the server names the fee for the amount it shows, and always recomputes it).
(function () {
  "use strict";

  // Mirrors donations.money.to_minor: digits, one decimal point or comma, no more decimal
  // places than the currency has, the currency's own sign or code on either side
  // ("10,50 €", "EUR 10"). Returns null for anything that is not money.
  var AMOUNT = /^(\d{1,12})(?:[.,](\d{1,12}))?$/;

  function withoutCurrency(text, currency) {
    var sign = new Intl.NumberFormat(document.documentElement.lang || "en", {
      style: "currency", currency: currency }).formatToParts(0)
      .filter(function (part) { return part.type === "currency"; })[0].value;
    var bare = text.replace(/\u00a0/g, " ").trim().toUpperCase();
    [currency, sign.toUpperCase()].forEach(function (mark) {
      if (bare.indexOf(mark) === 0) bare = bare.slice(mark.length).trim();
      else if (bare.slice(-mark.length) === mark) bare = bare.slice(0, -mark.length).trim();
    });
    return bare;
  }

  function toMinor(text, places, currency) {
    var match = AMOUNT.exec(withoutCurrency(text, currency));
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
    var language = document.documentElement.lang || "en";
    return new Intl.NumberFormat(language, { style: "currency", currency: currency })
      .format(minor / Math.pow(10, places));
  }

  function frequencyOf(form) {
    var checked = form.querySelector("input[name=frequency]:checked");
    return checked ? checked.value : "once";
  }

  // The typed amount, else the preset checked under the chosen frequency: the appeal box
  // and the support page have a group per frequency (amount_once …).
  function chosenAmount(form) {
    var other = form.querySelector("input[name=other_amount]");
    if (other && other.value.trim()) return other.value.trim();
    var preset = form.querySelector("input[name=amount_" + frequencyOf(form) + "]:checked") ||
      form.querySelector("input[name=amount]:checked");
    return preset ? preset.value : "";
  }

  // "Add $0.61 to cover card fees", kept in step with the amount and currency.
  function feeUpdater(form, currency) {
    var label = form.querySelector("[data-fee-label]");
    if (!label) return function () {};
    var models = JSON.parse(form.getAttribute("data-fee-model"));
    return function () {
      var model = models[currency.value];
      var amount = model ? toMinor(chosenAmount(form), model.places, currency.value) : null;
      if (amount === null) {
        label.textContent = label.getAttribute("data-label-unknown");
      } else {
        var fee = formatMoney(feeToCover(amount, model), currency.value, model.places);
        label.textContent = label.getAttribute("data-label").replace("{fee}", fee);
      }
    };
  }

  var appeal = document.querySelector(".appeal-box[data-fee-model]");
  if (appeal) {
    var updateAppealFee = feeUpdater(appeal, appeal.querySelector("input[name=currency]"));
    appeal.addEventListener("change", updateAppealFee);
  }

  var form = document.getElementById("donate-form");
  if (!form) return;
  var other = form.querySelector("#other_amount");
  // The visible select belongs to the no-script currency form (a GET that re-renders the
  // page); the donation form posts the hidden copy, kept equal to it here.
  var select = document.getElementById("currency");
  var currency = form.querySelector("input[type=hidden][name=currency]");
  var remind = document.getElementById("remind-link");
  var updateFee = feeUpdater(form, currency);

  // The checked preset of the chosen frequency's own group (amount_once …).
  function checkedPreset() {
    return form.querySelector("input[name=amount_" + frequencyOf(form) + "]:checked");
  }

  // Every amount on the page in the chosen currency: presets, the limits hint, the intro.
  function switchCurrency() {
    currency.value = select.value;
    document.querySelectorAll("[data-labels]").forEach(function (element) {
      var labels = JSON.parse(element.getAttribute("data-labels"));
      if (labels[currency.value]) element.textContent = labels[currency.value];
    });
    document.querySelectorAll(".currency-code").forEach(function (span) {
      span.textContent = "(" + currency.value + ")";
    });
  }

  function updateRemindLink() {
    if (!remind) return;
    var params = new URLSearchParams(remind.search);
    params.set("frequency", frequencyOf(form));
    params.set("amount", chosenAmount(form));
    params.set("currency", currency.value);
    remind.search = params.toString();
  }

  function update(event) {
    var target = event ? event.target : null;
    if (target && target.name === "frequency") {
      if (!other.value.trim() && !checkedPreset()) {
        var choices = form.querySelectorAll("input[name=amount_" + target.value + "]");
        if (choices.length) choices[Math.min(1, choices.length - 1)].checked = true;
      }
    } else if (target && target.name.indexOf("amount_") === 0) {
      other.value = "";
    } else if (target && target === other && other.value.trim()) {
      var checked = checkedPreset();
      if (checked) checked.checked = false;
    }
    if (select) switchCurrency();
    updateRemindLink();
    updateFee();
  }

  form.addEventListener("change", update);
  other.addEventListener("input", update);
  update();
})();
