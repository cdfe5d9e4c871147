// Hygie billing: choosing a usual act fills the acts and the amount at once. Without
// JavaScript the server fills the fields left blank from the chosen act.
(function () {
  "use strict";
  var select = document.querySelector("form.care-sheet-form select#id_favourite");
  if (!select || !select.dataset.favourites) { return; }
  var favourites = JSON.parse(select.dataset.favourites);
  var acts = document.getElementById("id_acts");
  var amount = document.getElementById("id_amount");
  select.addEventListener("change", function () {
    var chosen = favourites[select.value];
    if (!chosen) { return; }
    acts.value = chosen.acts;
    amount.value = chosen.amount;
  });
})();
