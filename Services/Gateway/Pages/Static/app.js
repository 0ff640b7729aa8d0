// Highlights the lines a file page's address names: #L10 or #L10-L20. Shift-click on a
// line number extends the selection. The pages work without it.
(function () {
  function highlight() {
    var match = /^#L(\d+)(?:-L(\d+))?$/.exec(location.hash);
    document.querySelectorAll("tr.selected").forEach(function (row) { row.classList.remove("selected"); });
    if (!match) return;
    var first = +match[1], last = +(match[2] || match[1]);
    if (last < first) { var t = first; first = last; last = t; }
    for (var n = first; n <= last; n++) {
      var row = document.getElementById("L" + n);
      if (row) row.classList.add("selected");
    }
    var start = document.getElementById("L" + first);
    if (start) start.scrollIntoView({ block: "center" });
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("td.ln a");
    if (!link || !event.shiftKey) return;
    var current = /^#L(\d+)/.exec(location.hash);
    var picked = link.getAttribute("href").slice(2);
    if (current) { event.preventDefault(); location.hash = "#L" + current[1] + "-L" + picked; }
  });
  window.addEventListener("hashchange", highlight);
  document.addEventListener("DOMContentLoaded", highlight);
})();
