// Small progressive enhancements for the support form; the form works without them.
(function () {
  "use strict";
  var form = document.getElementById("donate-form");
  if (!form) return;
  var other = form.querySelector("#other_amount");
  var currency = form.querySelector("#currency");
  var remind = document.getElementById("remind-link");

  function frequency() {
    var checked = form.querySelector("input[name=frequency]:checked");
    return checked ? checked.value : "once";
  }

  function checkedPreset() {
    return form.querySelector("input[name=amount]:checked");
  }

  function chosenAmount() {
    if (other.value.trim()) return other.value.trim();
    var preset = checkedPreset();
    return preset ? preset.value : "";
  }

  function updateRemindLink() {
    if (!remind) return;
    var params = new URLSearchParams({
      frequency: frequency(),
      amount: chosenAmount(),
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
  });

  other.addEventListener("input", function () {
    if (other.value.trim()) {
      var preset = checkedPreset();
      if (preset) preset.checked = false;
    }
    updateRemindLink();
  });
})();
