// The imports page: files dropped on the drop zone go into the file field, and choosing them
// asks for their detection (htmx listens for the field's change). Without this script the
// field and its buttons work as a plain form.
(function () {
  "use strict";
  function setUp() {
    var zone = document.getElementById("dropzone");
    var input = document.getElementById("files");
    if (!zone || !input) { return; }
    zone.classList.add("js");
    function over(event) { event.preventDefault(); zone.classList.add("over"); }
    function away() { zone.classList.remove("over"); }
    zone.addEventListener("dragenter", over);
    zone.addEventListener("dragover", over);
    zone.addEventListener("dragleave", away);
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      away();
      var dropped = event.dataTransfer && event.dataTransfer.files;
      if (!dropped || !dropped.length) { return; }
      input.files = dropped;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
