// Cascading parameters: when a parameter changes, resubmit the pane without "View Report",
// so the server recomputes the valid values of the parameters after it. Everything else in
// the viewer works without this script.
(function () {
  var form = document.querySelector("form.viewer-params");
  if (!form) { return; }
  form.addEventListener("change", function (ev) {
    if (!ev.target || !ev.target.name || ev.target.name.indexOf(":isnull") > 0) { return; }
    var view = form.querySelector("input[name='rs:View']");
    if (view) { view.disabled = true; }
    form.submit();
  });
})();
