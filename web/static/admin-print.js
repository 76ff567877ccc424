/* The voucher sheet's Print button (no inline script: the console's Content-Security-Policy). */
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var button = document.getElementById("print");
  if (button) button.addEventListener("click", function () { window.print(); });
});
