// "Select all on this page" for the caseload table. Without JavaScript the checkbox stays
// hidden and each row is checked by hand; the bulk form works the same either way.
(function () {
  "use strict";
  var all = document.getElementById("select-page");
  if (!all) {
    return;
  }
  var rows = Array.prototype.slice.call(document.querySelectorAll("input.select-row"));
  function sync() {
    var checked = rows.filter(function (box) { return box.checked; }).length;
    all.checked = rows.length > 0 && checked === rows.length;
    all.indeterminate = checked > 0 && checked < rows.length;
  }
  all.hidden = false;
  all.addEventListener("change", function () {
    rows.forEach(function (box) { box.checked = all.checked; });
  });
  rows.forEach(function (box) { box.addEventListener("change", sync); });
  sync();
})();
