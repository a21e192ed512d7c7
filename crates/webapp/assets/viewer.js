// The report viewer's enhancements; everything works without them (plain GET forms):
// - cascading parameters: when a parameter changes, resubmit the pane without "View Report",
//   so the server recomputes the valid values of the parameters after it;
// - find: highlight the found text on the page, "Next" steps through the hits on this page
//   before asking the server for the next page that holds the text;
// - zoom: Page Width and Whole Page fitted to the window, any choice applied at once.
(function () {
  "use strict";
  var form = document.querySelector("form.viewer-params");
  if (form) {
    form.addEventListener("change", function (ev) {
      var t = ev.target;
      if (!t || !t.name || t.name.indexOf(":isnull") > 0 || t.name.indexOf("ds") === 0) { return; }
      var view = form.querySelector("input[name='rs:View']");
      if (view) { view.disabled = true; }
      form.submit();
    });
  }

  var area = document.querySelector(".viewer-report");
  var inner = document.getElementById("rv-zoom");
  if (!area || !inner) { return; }

  // Zoom
  function applyZoom(value) {
    inner.style.zoom = "1";
    var z = 1;
    if (value === "Page Width" || value === "Whole Page") {
      var w = inner.scrollWidth;
      var avail = area.clientWidth - 32;
      if (w > 0) { z = avail / w; }
      if (value === "Whole Page") {
        var h = inner.scrollHeight;
        var top = area.getBoundingClientRect().top;
        var availH = window.innerHeight - Math.max(top, 0) - 32;
        if (h > 0 && availH > 0) { z = Math.min(z, availH / h); }
      }
    } else {
      var p = parseInt(value, 10);
      if (p > 0) { z = p / 100; }
    }
    z = Math.max(0.1, Math.min(5, z));
    inner.style.zoom = String(z);
    area.setAttribute("data-zoom", value);
  }
  var zoomSelect = document.querySelector("form.viewer-tools select[name='rc:Zoom']");
  var zoom = area.getAttribute("data-zoom") || "100";
  if (zoom !== "100") { applyZoom(zoom); }
  if (zoomSelect) {
    zoomSelect.addEventListener("change", function () { applyZoom(zoomSelect.value); });
  }
  window.addEventListener("resize", function () {
    var z = area.getAttribute("data-zoom");
    if (z === "Page Width" || z === "Whole Page") { applyZoom(z); }
  });

  // Find
  var needle = area.getAttribute("data-find");
  var hits = [];
  var current = -1;
  if (needle) {
    var lower = needle.toLowerCase();
    var walker = document.createTreeWalker(inner, NodeFilter.SHOW_TEXT, null);
    var nodes = [];
    while (walker.nextNode()) { nodes.push(walker.currentNode); }
    nodes.forEach(function (node) {
      if (node.parentNode && node.parentNode.nodeName === "STYLE") { return; }
      var text = node.nodeValue;
      var at = text.toLowerCase().indexOf(lower);
      while (at >= 0) {
        var match = node.splitText(at);
        var rest = match.splitText(needle.length);
        var mark = document.createElement("mark");
        mark.className = "find-hit";
        match.parentNode.replaceChild(mark, match);
        mark.appendChild(match);
        hits.push(mark);
        node = rest;
        text = node.nodeValue;
        at = text.toLowerCase().indexOf(lower);
      }
    });
    if (hits.length > 0) { select(0); }
  }
  function select(i) {
    if (current >= 0) { hits[current].classList.remove("current"); }
    current = i;
    hits[i].classList.add("current");
    hits[i].scrollIntoView({ block: "center" });
  }
  var tools = document.querySelector("form.viewer-tools");
  var next = tools && tools.querySelector("button.find-next");
  var input = tools && tools.querySelector("input[name='rc:FindString']");
  if (next && input) {
    next.addEventListener("click", function (ev) {
      // more hits of the same text on this page: step to the next one here
      if (hits.length > 0 && input.value === needle && current + 1 < hits.length) {
        ev.preventDefault();
        select(current + 1);
      }
    });
  }
})();
