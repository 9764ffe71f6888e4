// The live timeline: an EventSource on the dashboard's /timeline/stream,
// each event added on top of the list as it arrives. Each item keeps the
// time it arrived (data-arrived), so one can see that the steps of a launch
// came one by one.
(function () {
  "use strict";
  var panel = document.getElementById("timeline");
  if (!panel || !window.EventSource) { return; }
  var list = document.getElementById("timeline-events");
  var state = document.getElementById("timeline-state");
  var focus = panel.dataset.filter;
  var url = panel.dataset.stream + "?since=" + encodeURIComponent(panel.dataset.since);
  var source = new EventSource(url);

  source.onopen = function () { state.textContent = "live"; state.className = "live on"; };
  source.onerror = function () { state.textContent = "reconnecting…"; state.className = "live"; };
  source.onmessage = function (message) {
    var event = JSON.parse(message.data);
    var item = document.createElement("li");
    item.dataset.type = event.type;
    item.dataset.resource = event.resource_id || "";
    item.dataset.arrived = String(Date.now());
    if (focus && event.resource_id === focus) { item.className = "focus"; }
    var when = document.createElement("time");
    when.textContent = event.time.substring(11, 23);
    var type = document.createElement("strong");
    type.textContent = event.type;
    var detail = document.createElement("span");
    detail.textContent = " " + event.publisher + " · " + (event.resource_type || "") +
      " " + (event.resource_id || "") + " · " + (event.request_id || "");
    item.append(when, " ", type, detail);
    list.prepend(item);
  };
}());
