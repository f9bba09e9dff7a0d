/* arinsight site: draws the charts with the site's own plotly.js (no CDN) and links chart
   points that carry a customer id to the customer's page. Nothing leaves the host: plotly.js 4
   offers "Share chart" (an upload to Plotly Cloud) on every chart by default; it is switched off
   and its destination emptied, with the links to Plotly's editors. */
(function () {
  "use strict";
  var config = {
    responsive: true,
    displaylogo: false,
    showSendToCloud: false,
    showEditInChartStudio: false,
    showLink: false,
    plotlyServerURL: "",
    modeBarButtonsToRemove: [
      "select2d", "lasso2d", "autoScale2d", "sendChartToCloud", "sendDataToCloud",
      "editInChartStudio",
    ],
  };
  function draw(el) {
    var node = document.getElementById(el.getAttribute("data-spec"));
    if (!node || typeof Plotly === "undefined") return;
    var spec = JSON.parse(node.textContent);
    var layout = spec.layout || {};
    layout.autosize = true;
    Plotly.newPlot(el, spec.data || [], layout, config).then(function () {
      var links = el.getAttribute("data-customers");
      if (!links) return;
      var map = JSON.parse(links);
      el.classList.add("ar-chart-links");
      el.on("plotly_click", function (ev) {
        var p = ev && ev.points && ev.points[0];
        var id = p && (Array.isArray(p.customdata) ? p.customdata[0] : p.customdata);
        if (id && map[id]) window.location.href = map[id];
      });
    });
  }
  function all() {
    var charts = document.querySelectorAll(".ar-chart");
    for (var i = 0; i < charts.length; i++) draw(charts[i]);
  }
  /* Printing: every collapsed section but the provenance opens (and closes again after), and
     the charts are drawn at a width that fits an A4 page (600 px: the page's 186 mm less the
     margins of Quarto's column and the card), then at the screen's width again. */
  var opened = [];
  var PRINT_WIDTH = 600;
  function charts() {
    if (typeof Plotly === "undefined") return [];
    return Array.prototype.slice.call(document.querySelectorAll(".ar-chart.js-plotly-plot"));
  }
  window.addEventListener("beforeprint", function () {
    // the provenance (parameters, file hashes) stays closed: it is for an auditor
    opened = Array.prototype.filter.call(
      document.querySelectorAll("details:not([open]):not(.provenance)"),
      function (d) { d.open = true; return true; });
    charts().forEach(function (el) { Plotly.relayout(el, { width: PRINT_WIDTH }); });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (d) { d.open = false; });
    opened = [];
    charts().forEach(function (el) {
      Plotly.relayout(el, { width: null, autosize: true }).then(function () {
        Plotly.Plots.resize(el);
      });
    });
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", all);
  else all();
})();

/* Downloads (CSV and Excel) of every table, and the invoice explorer. Both use DataTables and
   its Buttons extension (CSV and Excel export, JSZip), from the site's own assets/datatables.js
   (the bundle the installed itables ships): the explorer page loads it; other pages load it on
   the first click of a download button. Nothing is fetched from another host.

   Spreadsheet-safe cells: a text cell that starts with =, +, -, @, a tab or a carriage return
   is written with a leading apostrophe, so a spreadsheet shows it as text instead of running
   it as a formula; numbers (amounts, days) are written as numbers. */
(function () {
  "use strict";
  var script = document.currentScript;
  var ASSETS = script && script.src ? script.src.replace(/[^/]*$/, "") : "";
  var UNSAFE = /^[=+\-@\t\r]/;
  var PLAIN_NUMBER = /^-?\d+(\.\d+)?$/;
  var SYMBOLS = { USD: "$", EUR: "\u20ac", GBP: "\u00a3" };

  function safeCell(value) {
    if (typeof value !== "string") return value;
    return UNSAFE.test(value) ? "'" + value : value;
  }
  window.arinsightSafeCell = safeCell;

  function esc(text) {
    return String(text == null ? "" : text)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }

  function money(value, currency) {
    if (value == null || value === "" || isNaN(value)) return "";
    var neg = value < 0;
    var text = Math.abs(value).toLocaleString("en-US", {
      minimumFractionDigits: 2, maximumFractionDigits: 2,
    });
    var sym = SYMBOLS[currency];
    text = sym ? sym + text : text + " " + currency;
    return (neg ? "-" : "") + text;
  }

  function withDataTables(done) {
    if (window.arinsightDataTables) { done(window.arinsightDataTables); return; }
    var tag = document.querySelector("script[data-ar-datatables]");
    if (!tag) {
      tag = document.createElement("script");
      tag.src = ASSETS + "datatables.js";
      tag.setAttribute("data-ar-datatables", "");
      document.head.appendChild(tag);
    }
    tag.addEventListener("load", function () { done(window.arinsightDataTables); });
  }

  function slug(text) {
    return String(text || "table").replace(/[^A-Za-z0-9\u00c0-\u024f]+/g, "-")
      .replace(/^-+|-+$/g, "").slice(0, 80) || "table";
  }

  /* The Buttons of an export: CSV (UTF-8 with a byte order mark, so Excel reads accents) and
     Excel, of the rows as filtered and ordered, every column, without the totals row. */
  function exportButtons(filename) {
    var options = {
      modifier: { search: "applied", order: "applied", page: "all" },
      orthogonal: "export",
      columns: function () { return true; },
      format: {
        body: function (data) {  // each cell by its own type: a number stays a number
          if (typeof data === "number") return data;
          return safeCell(data == null ? "" : String(data));
        },
        header: function (data, column, node) {
          return node ? node.textContent.trim() : data;
        },
      },
    };
    return [
      { extend: "csvHtml5", filename: filename, title: "", bom: true, footer: false,
        messageTop: null, messageBottom: null, exportOptions: options },
      { extend: "excelHtml5", filename: filename, title: "", footer: false,
        messageTop: null, messageBottom: null, sheetName: "Rows", exportOptions: options },
    ];
  }

  function sectionTitle(el) {
    var box = el.closest("details, section, article");
    var head = box && box.querySelector("summary, h2");
    return head ? head.textContent.trim() : "";
  }

  /* ---- every table of the site (not the explorer): two buttons under it ---------------- */
  function tableRows(table) {
    var heads = Array.prototype.map.call(
      table.querySelectorAll("thead th"), function (th) { return th.textContent.trim(); });
    var numeric = {};
    // a table that sorts and filters (the customer list): its rows as filtered and ordered
    var trs = table._arTable
      ? table._arTable.rows({ search: "applied", order: "applied" }).nodes().toArray()
      : table.querySelectorAll("tbody tr");
    var rows = Array.prototype.map.call(trs, function (tr) {
      return Array.prototype.map.call(tr.children, function (td, i) {
        var v = td.getAttribute("data-v");
        if (v !== null && v !== "" && !isNaN(Number(v))) { numeric[i] = true; return Number(v); }
        var text = td.textContent.trim();
        // a plain number without data-v (a pandas table): a number, not text
        if (PLAIN_NUMBER.test(text)) { numeric[i] = true; return Number(text); }
        return text;
      });
    });
    return { heads: heads, rows: rows, numeric: numeric };
  }

  function download(table, kind) {
    withDataTables(function (lib) {
      if (table._arExport && table._arTable) {  // filtered since: export the rows of now
        table._arExport.destroy();
        table._arExport = null;
      }
      if (!table._arExport) {
        var got = tableRows(table);
        var holder = document.createElement("table");
        holder.hidden = true;
        document.body.appendChild(holder);
        var page = document.title.split(" \u2013 ")[0];  // without the site's name
        var name = slug((sectionTitle(table) || "table") + " " + page);
        table._arExport = new lib.DataTable(holder, {
          data: got.rows,
          columns: got.heads.map(function (h, i) {
            return { title: esc(h), defaultContent: "", render: function (d) { return d; },
              type: got.numeric[i] ? "num" : "string" };
          }),
          paging: false, searching: false, ordering: false, info: false, layout: {},
          buttons: exportButtons(name),
        });
      }
      table._arExport.button(kind === "csv" ? 0 : 1).trigger();
    });
  }

  /* A long table that sorts on a click on any header, searches a phrase and filters by the
     column named in data-filter-column (the customer list). Numbers sort by their exact
     value (data-v). */
  function sortable(table) {
    var lib = window.arinsightDataTables;
    if (!lib || !table.querySelector("tbody tr")) return;
    Array.prototype.forEach.call(table.querySelectorAll("tbody td[data-v]"), function (td) {
      td.setAttribute("data-order", td.getAttribute("data-v"));
    });
    var heads = Array.prototype.map.call(table.querySelectorAll("thead th"),
      function (th) { return th.textContent.trim(); });
    var by = table.getAttribute("data-filter-column");
    var col = heads.indexOf(by);
    var dt = new lib.DataTable(table, {
      paging: true, pageLength: 50, lengthMenu: [25, 50, 100, 500, { label: "All", value: -1 }],
      order: [], autoWidth: false, search: { smart: false },
      layout: { topStart: "pageLength", topEnd: "search", bottomStart: "info", bottomEnd: "paging" },
      language: { search: "Search (exact phrase)", zeroRecords: "No customer matches" },
    });
    table._arTable = dt;
    if (col >= 0) {
      var values = {};
      dt.column(col).data().toArray().forEach(function (v) {
        var text = String(v).replace(/<[^>]*>/g, "").trim();
        if (text) values[text] = 1;
      });
      var label = document.createElement("label");
      label.className = "ar-filter ar-column-filter";
      label.textContent = by + " ";
      var select = document.createElement("select");
      select.setAttribute("data-filter", "column");
      var all = document.createElement("option");
      all.value = "";
      all.textContent = "All";
      select.appendChild(all);
      Object.keys(values).sort().forEach(function (v) {
        var o = document.createElement("option");
        o.value = v;
        o.textContent = v;
        select.appendChild(o);
      });
      select.addEventListener("change", function () {
        var v = select.value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        dt.column(col).search(select.value ? "^" + v + "$" : "", true, false).draw();
      });
      label.appendChild(select);
      var wrap = table.closest(".dt-container") || table;
      wrap.parentNode.insertBefore(label, wrap);
    }
  }

  function addDownloads() {
    // the site's tables, and any pandas table a notebook shows as it is
    var tables = document.querySelectorAll(
      "table.ar-table:not(#invoice_explorer), .ar-page table.dataframe");
    Array.prototype.forEach.call(tables, function (table) {
      if (!table.querySelector("tbody tr")) return;
      var title = sectionTitle(table) || "this table";
      var bar = document.createElement("div");
      bar.className = "ar-downloads ar-table-downloads";
      bar.setAttribute("role", "group");
      bar.setAttribute("aria-label", "Download " + title);
      [["csv", "CSV"], ["xlsx", "Excel"]].forEach(function (pair) {
        var b = document.createElement("button");
        b.type = "button";
        b.className = "ar-button ar-button-small";
        b.setAttribute("data-download", pair[0]);
        b.textContent = "Download " + pair[1];
        b.addEventListener("click", function () { download(table, pair[0]); });
        bar.appendChild(b);
      });
      var wrap = table.closest(".ar-table-wrap") || table;
      wrap.parentNode.insertBefore(bar, wrap.nextSibling);
    });
  }

  /* ---- the invoice explorer ------------------------------------------------------------ */
  var STATUS = {
    open: ["Open - current", "Overdue"], overdue: ["Overdue"], current: ["Open - current"],
    paid: ["Paid"], credit: ["Credit"], all: null,
  };
  var MONEY = { open_amount: 1, amount: 1, amount_at_risk: 1 };
  var NUMBERS = { open_amount: 1, amount: 1, amount_at_risk: 1, days_past_due: 1 };
  var DEFAULT_SORT = "due_date-asc";

  function normal(text) {
    return String(text == null ? "" : text).toLowerCase().replace(/\s+/g, " ").trim();
  }

  function explorer(box) {
    var period = box.getAttribute("data-period");
    var base = box.getAttribute("data-base") || "";
    var data = (window.arinsightExplorer || {})[period];
    var lib = window.arinsightDataTables;
    var tableEl = box.querySelector("#invoice_explorer");
    if (!data || !lib || !tableEl) return;
    var at = {};
    data.columns.forEach(function (c, i) { at[c] = i; });
    var pages = {};  // customer id -> its page (relative to the period's folder)
    var loaded = {};  // part file -> true once its rows are in the table
    var DAY = 86400000;

    /* The rows of a part (explorer-data/<region>-<status>.js) in the columns of data.columns:
       money from cents, dates from day numbers, customers from the part's dictionary. */
    function decode(meta, part) {
      var customers = part.customers;
      customers.forEach(function (c) {
        if (c[2]) pages[c[0]] = c[2] === 1 ? "customers/" + c[0] + ".html" : c[2];
      });
      function day(d) { return d == null ? null : new Date(d * DAY).toISOString().slice(0, 10); }
      function cents(v) { return v == null ? null : v / 100; }
      return part.rows.map(function (r) {
        var c = customers[r[1]], bits = c[3], out = new Array(data.columns.length);
        var scopes = function (shift) {
          var s = [];
          if (bits & (1 << shift)) s.push("All");
          if (bits & (2 << shift) && meta.region) s.push(meta.region);
          return s;
        };
        out[at.customer_id] = c[0];
        out[at.invoice_id] = r[0];
        out[at.customer_name] = c[1];
        out[at.open_amount] = cents(r[2]);
        out[at.amount] = cents(r[3]);
        out[at.days_past_due] = r[4];
        out[at.payment_status] = meta.status || null;
        out[at.due_date] = day(r[5]);
        out[at.invoice_date] = day(r[6]);
        out[at.paid_date] = day(r[7]);
        out[at.amount_at_risk] = cents(r[8]);
        out[at.region] = meta.region || null;
        out[at.industry] = r[9] == null ? null : data.industries[r[9]];
        out[at.over_limit] = scopes(0);
        out[at.likely_late] = scopes(2);
        return out;
      });
    }

    /* The parts a view needs: its region (or all) and the statuses of its status choice. */
    function needed() {
      var statuses = STATUS[state.status];
      return data.parts.filter(function (p) {
        return (!state.region || p.region === state.region) &&
          (!statuses || statuses.indexOf(p.status) >= 0);
      });
    }

    /* Load the parts the view needs (a <script> each: it works from a file opened directly),
       add their rows to the table, then call done. */
    function ensure(done) {
      var missing = needed().filter(function (p) { return !loaded[p.file]; });
      if (!missing.length) { done(); return; }
      box.setAttribute("data-loading", "");
      var count = box.querySelector(".ar-explorer-count");
      if (count) count.textContent = "Loading the invoices\u2026";
      var store = window.arinsightExplorerParts = window.arinsightExplorerParts || {};
      var left = missing.length;
      missing.forEach(function (p) {
        var key = period + "/" + p.file;
        function finish() {
          if (!loaded[p.file] && store[key]) {
            loaded[p.file] = true;
            dt.rows.add(decode(p, store[key]));
            delete store[key];
          }
          left -= 1;
          if (left === 0) {
            if (needed().every(function (q) { return loaded[q.file]; })) {
              box.removeAttribute("data-loading");
            }
            done();
          }
        }
        if (store[key]) { finish(); return; }
        var tag = document.createElement("script");
        tag.src = base + "explorer-data/" + p.file;
        tag.addEventListener("load", finish);
        tag.addEventListener("error", function () {  // a part missing: the others still show
          loaded[p.file] = true;
          finish();
        });
        document.head.appendChild(tag);
      });
    }
    var shown = Array.prototype.map.call(tableEl.querySelectorAll("thead th[data-col]"),
      function (th) { return th.getAttribute("data-col"); });
    var controls = {};
    Array.prototype.forEach.call(box.querySelectorAll("[data-filter]"), function (el) {
      controls[el.getAttribute("data-filter")] = el;
    });
    var state = { region: "", industry: "", status: "open", customers: "", q: "", sort: "" };

    function render(col) {
      return function (value, type, row) {
        if (MONEY[col]) {
          if (type === "display") return esc(money(value, data.currency));
          if (type === "filter") return money(value, data.currency);
          return value == null ? (type === "export" ? "" : -Infinity) : value;
        }
        if (col === "days_past_due") {
          if (type === "sort" || type === "type") return value == null ? -Infinity : value;
          return value == null ? "" : value;
        }
        if (col === "customer_name") {
          var name = value || row[at.customer_id];
          if (type === "display") {
            var page = pages[row[at.customer_id]];
            return page ? '<a href="' + esc(base + page) + '">' + esc(name) + "</a>" : esc(name);
          }
          return type === "sort" ? normal(name) : name;
        }
        if (type === "display") return esc(value);
        return value == null ? "" : value;
      };
    }

    var columns = shown.map(function (col) {
      return {
        data: at[col], render: render(col), defaultContent: "",
        className: NUMBERS[col] ? "dt-right ar-num" : "ar-nowrap",
        type: NUMBERS[col] ? "num" : "string",
        visible: col !== "customer_id",  // in the downloads, not on screen
      };
    });

    function keep(row) {
      var statuses = STATUS[state.status];
      if (statuses && statuses.indexOf(row[at.payment_status]) < 0) return false;
      if (state.region && row[at.region] !== state.region) return false;
      if (state.industry && row[at.industry] !== state.industry) return false;
      if (state.customers) {
        var scope = state.region || "All";
        var list = row[at[state.customers === "over-limit" ? "over_limit" : "likely_late"]] || [];
        if (list.indexOf(scope) < 0) return false;
      }
      if (state.q) {
        var phrase = normal(state.q.replace(/^["'\u201c\u201d]+|["'\u201c\u201d]+$/g, ""));
        if (phrase) {
          var fields = ["invoice_id", "customer_name", "customer_id", "region", "industry",
            "payment_status"];
          var hit = fields.some(function (c) { return normal(row[at[c]]).indexOf(phrase) >= 0; });
          if (!hit) return false;
        }
      }
      return true;
    }

    lib.DataTable.ext.search.push(function (settings, searchData, index, row) {
      return settings.nTable !== tableEl || keep(row);
    });

    function filename() {
      var parts = ["invoices", period, state.region, state.industry, state.status,
        state.customers, state.q];
      return slug(parts.filter(Boolean).join(" "));
    }

    var dt = new lib.DataTable(tableEl, {
      data: [],
      columns: columns,
      deferRender: true,
      autoWidth: false,
      pageLength: 25,
      lengthMenu: [10, 25, 50, 100, 500],
      order: [[shown.indexOf("due_date"), "asc"]],
      layout: { topStart: "pageLength", topEnd: null, bottomStart: "info", bottomEnd: "paging" },
      language: { emptyTable: "No invoice", zeroRecords: "No invoice matches these filters" },
      buttons: exportButtons(function () { return filename(); }),
    });
    tableEl._arTable = dt;

    /* The totals row and the count line. When a part the view needs is cut at data.max_rows
       (a very large ledger), the table holds its largest invoices only: the totals row then
       shows the totals of every invoice of the view, computed when the site was built
       (data.totals), unless a search is typed (a search covers the rows loaded). */
    function totals() {
      if (box.hasAttribute("data-loading")) return;
      var rows = dt.rows({ search: "applied" }).data().toArray();
      var sums = {}, customers = {};
      Object.keys(MONEY).forEach(function (c) { sums[c] = 0; });
      rows.forEach(function (r) {
        customers[r[at.customer_id]] = 1;
        Object.keys(MONEY).forEach(function (c) {
          var v = r[at[c]];
          if (v != null) sums[c] += Math.round(v * 100);
        });
      });
      var n = rows.length, m = Object.keys(customers).length;
      var parts = needed();
      var cut = parts.filter(function (p) { return p.rows < p.total; });
      var whole = null;
      if (cut.length && !state.q && data.totals) {
        whole = data.totals[[state.region, state.status, state.customers, state.industry].join("|")];
      }
      var shownN = n;
      if (whole) {
        n = whole[0]; m = whole[1];
        sums = { open_amount: whole[2], amount: whole[3], amount_at_risk: whole[4] };
      }
      Array.prototype.forEach.call(tableEl.querySelectorAll("tfoot [data-total]"), function (td) {
        var col = td.getAttribute("data-total");
        if (MONEY[col]) {
          td.setAttribute("data-cents", String(sums[col]));
          td.textContent = money(sums[col] / 100, data.currency);
        } else if (col === "invoice_id") {
          td.setAttribute("data-count", String(n));
          td.textContent = "Total: " + n.toLocaleString("en-US") + (n === 1 ? " invoice" : " invoices");
        } else if (col === "customer_name") {
          td.setAttribute("data-count", String(m));
          td.textContent = m.toLocaleString("en-US") + (m === 1 ? " customer" : " customers");
        }
      });
      var count = box.querySelector(".ar-explorer-count");
      var all = 0;
      data.parts.forEach(function (p) { all += p.total; });
      if (count) {
        count.textContent = n.toLocaleString("en-US") + " of " +
          all.toLocaleString("en-US") + " invoices, " +
          m.toLocaleString("en-US") + " customers";
      }
      var note = box.querySelector(".ar-explorer-cut");
      if (note) {
        note.hidden = !cut.length;
        if (cut.length) {
          var links = Object.keys(data.full || {}).filter(function (r) {
            return !state.region || r === state.region;
          }).map(function (r) {
            return '<a href="' + esc(base + "explorer-data/" + data.full[r]) + '" download>' +
              esc(r) + "</a>";
          });
          note.innerHTML = "This view lists the " + shownN.toLocaleString("en-US") +
            (whole ? " largest of its " + n.toLocaleString("en-US") + " invoices" :
              " matching invoices among the largest loaded") +
            " (the explorer loads at most " + Number(data.max_rows).toLocaleString("en-US") +
            " invoices of one region and status, the largest first); " +
            (whole ? "the totals row adds up all " + n.toLocaleString("en-US") + ". " :
              "the totals row adds up the rows listed. ") +
            "Every invoice, as CSV: " + links.join(" \u00b7 ") + ".";
        }
      }
    }

    function toHash() {
      var p = new URLSearchParams();
      Object.keys(state).forEach(function (k) {
        if (state[k] && !(k === "status" && state[k] === "open")) p.set(k, state[k]);
      });
      var text = p.toString().replace(/\+/g, "%20");
      history.replaceState(null, "", text ? "#" + text : location.pathname + location.search);
    }

    function fromHash() {
      var p = new URLSearchParams(location.hash.replace(/^#/, ""));
      state.region = p.get("region") || "";
      state.industry = p.get("industry") || "";
      state.status = STATUS.hasOwnProperty(p.get("status")) ? p.get("status") : "open";
      state.customers = p.get("customers") || "";
      state.q = p.get("q") || "";
      state.sort = p.get("sort") || "";
      Object.keys(controls).forEach(function (k) { controls[k].value = state[k] || ""; });
      if (controls.status) controls.status.value = state.status;
      var sort = /^([a-z_]+)-(asc|desc)$/.exec(state.sort || DEFAULT_SORT);
      if (!sort || shown.indexOf(sort[1]) < 0) sort = /^(.+)-(.+)$/.exec(DEFAULT_SORT);
      dt.order([[shown.indexOf(sort[1]), sort[2]]]);
      ensure(function () { dt.draw(); });
    }

    Object.keys(controls).forEach(function (k) {
      var el = controls[k];
      el.addEventListener(el.tagName === "INPUT" ? "input" : "change", function () {
        state[k] = el.value;
        toHash();
        ensure(function () { dt.draw(); });
      });
    });
    var reset = box.querySelector('[data-action="reset"]');
    if (reset) reset.addEventListener("click", function () {
      state = { region: "", industry: "", status: "open", customers: "", q: "", sort: "" };
      toHash();
      fromHash();
    });
    dt.on("order", function () {
      var o = dt.order()[0];
      if (o && shown[o[0]]) {
        var sort = shown[o[0]] + "-" + o[1];
        sort = sort === DEFAULT_SORT ? "" : sort;
        if (sort !== state.sort) { state.sort = sort; toHash(); }
      }
    });
    dt.on("draw", totals);
    Array.prototype.forEach.call(box.querySelectorAll(".ar-explorer-bar [data-download]"),
      function (b) {
        b.addEventListener("click", function () {
          dt.button(b.getAttribute("data-download") === "csv" ? 0 : 1).trigger();
        });
      });
    window.addEventListener("hashchange", fromHash);
    fromHash();
  }

  function start() {
    var box = document.querySelector(".explorer[data-period]");
    if (box) explorer(box);
    Array.prototype.forEach.call(document.querySelectorAll("table.ar-sortable"), sortable);
    addDownloads();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
