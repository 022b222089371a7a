// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // Search suggestions: fill the search box's <datalist> from the JSON API.
  var input = document.querySelector("input[data-suggest]");
  var list = document.getElementById("q-suggestions");
  if (input && list && window.fetch) {
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var q = input.value.trim();
      if (q.length < 2) { list.textContent = ""; return; }
      timer = setTimeout(function () {
        fetch("/store/search/suggest?limit=8&q=" + encodeURIComponent(q), { headers: { accept: "application/json" } })
          .then(function (r) { return r.ok ? r.json() : { items: [] }; })
          .then(function (body) {
            list.textContent = "";
            (body.items || []).forEach(function (s) {
              var option = document.createElement("option");
              option.value = s.title;
              list.appendChild(option);
            });
          })
          .catch(function () {});
      }, 150);
    });
  }

  // Stripe: mount the Payment Element and put the PaymentMethod id into the
  // form's payment_token before it posts (the server confirms the charge).
  var form = document.getElementById("checkout-form");
  if (form && form.dataset.stripeKey && window.Stripe) {
    // A Connect store's card form belongs to its connected account.
    var stripe = form.dataset.stripeAccount
      ? window.Stripe(form.dataset.stripeKey, { stripeAccount: form.dataset.stripeAccount })
      : window.Stripe(form.dataset.stripeKey);
    var elements = stripe.elements({
      mode: "payment",
      amount: parseInt(form.dataset.stripeAmount, 10),
      currency: form.dataset.stripeCurrency,
      paymentMethodCreation: "manual"
    });
    var target = document.getElementById("payment-element");
    target.textContent = "";
    elements.create("payment").mount(target);
    form.addEventListener("submit", function (event) {
      var token = document.getElementById("payment_token");
      if (token.value) { return; }
      event.preventDefault();
      elements.submit().then(function () {
        return stripe.createPaymentMethod({ elements: elements });
      }).then(function (result) {
        if (result.error) { target.setAttribute("data-error", result.error.message || "payment error"); return; }
        token.value = result.paymentMethod.id;
        form.submit();
      });
    });
  }
})();
