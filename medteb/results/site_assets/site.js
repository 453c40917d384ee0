// MedTEB leaderboard page: switch settings, sort columns, filter rows. No dependencies.
(function () {
  "use strict";
  var tabs = Array.prototype.slice.call(document.querySelectorAll("[role=tab]"));
  var views = Array.prototype.slice.call(document.querySelectorAll(".view"));
  var form = document.getElementById("filters");
  var shown = document.getElementById("shown");

  function activeView() {
    return views.filter(function (v) { return !v.hidden; })[0];
  }

  function select(setting, focus) {
    tabs.forEach(function (tab) {
      var on = tab.dataset.setting === setting;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      tab.tabIndex = on ? 0 : -1;
      if (on && focus) { tab.focus(); }
    });
    views.forEach(function (view) { view.hidden = view.dataset.setting !== setting; });
    if (history.replaceState && location.hash !== "#" + setting) {
      try { history.replaceState(null, "", "#" + setting); } catch (e) { /* file:// in some browsers */ }
    }
    applyFilters();
  }

  tabs.forEach(function (tab, i) {
    tab.addEventListener("click", function () { select(tab.dataset.setting, false); });
    tab.addEventListener("keydown", function (event) {
      var step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      var target = null;
      if (step) { target = tabs[(i + step + tabs.length) % tabs.length]; }
      if (event.key === "Home") { target = tabs[0]; }
      if (event.key === "End") { target = tabs[tabs.length - 1]; }
      if (target) { event.preventDefault(); select(target.dataset.setting, true); }
    });
  });

  // --- sorting: a heading's button sorts by its column; missing values always go last ---
  function cellValue(row, index, numeric) {
    var raw = row.cells[index].dataset.value;
    if (raw === undefined || raw === "") { return null; }
    return numeric ? parseFloat(raw) : raw.toLowerCase();
  }

  function position(row) {  // the row's place on the board as written (rank order)
    return parseInt(row.id.split("-")[1], 10);
  }

  function sortTable(table, header) {
    var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var index = headers.indexOf(header);
    var numeric = header.dataset.type === "num";
    var current = header.getAttribute("aria-sort");
    var ascending = current ? current !== "ascending" : header.dataset.first === "asc";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, index, numeric), y = cellValue(b, index, numeric);
      if (x === null || y === null) {
        return (x === null) - (y === null) || position(a) - position(b);
      }
      var order = x < y ? -1 : x > y ? 1 : 0;
      return (ascending ? order : -order) || position(a) - position(b);  // ties: board order
    });
    rows.forEach(function (row) { body.appendChild(row); });
    headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.board th button"),
    function (button) {
      button.addEventListener("click", function () {
        var header = button.parentNode;
        sortTable(header.closest("table"), header);
      });
    });

  // --- filters: parameter range (millions), encoder kind, source, name ---
  function number(id) {
    var value = document.getElementById(id).value.trim();
    return value === "" ? null : Math.round(parseFloat(value) * 1e6);  // 1.001 * 1e6 is not exact
  }

  function keep(row) {
    var low = number("f-min"), high = number("f-max");
    if (low !== null || high !== null) {
      var params = row.dataset.params === "" ? null : parseFloat(row.dataset.params);
      if (params === null) { return false; }
      if (low !== null && params < low) { return false; }
      if (high !== null && params > high) { return false; }
    }
    var kind = document.getElementById("f-kind").value;
    if (kind && row.dataset.kind !== kind) { return false; }
    if (!document.getElementById("f-" + row.dataset.source).checked) { return false; }
    var name = document.getElementById("f-name").value.trim().toLowerCase();
    return !name || row.dataset.name.indexOf(name) !== -1;
  }

  function applyFilters() {
    views.forEach(function (view) {
      var rows = view.querySelectorAll("table.board tbody tr");
      var visible = 0;
      Array.prototype.forEach.call(rows, function (row) {
        row.hidden = !keep(row);
        visible += !row.hidden;
        Array.prototype.forEach.call(view.querySelectorAll('.point[data-row="' + row.id + '"]'),
          function (point) { point.style.display = row.hidden ? "none" : ""; });
      });
      view.dataset.visible = visible;
      view.dataset.total = rows.length;
    });
    var view = activeView();
    if (view && shown) {
      shown.textContent = "Showing " + view.dataset.visible + " of " + view.dataset.total +
        " models on this board.";
    }
  }

  form.addEventListener("input", applyFilters);
  form.addEventListener("change", applyFilters);
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  document.getElementById("f-clear").addEventListener("click", function () {
    form.reset();
    applyFilters();
  });
  window.addEventListener("hashchange", function () {
    var setting = location.hash.slice(1);
    if (tabs.some(function (t) { return t.dataset.setting === setting; })) { select(setting, false); }
  });

  var wanted = location.hash.slice(1);
  var known = tabs.some(function (t) { return t.dataset.setting === wanted; });
  select(known ? wanted : tabs[0].dataset.setting, false);
})();
