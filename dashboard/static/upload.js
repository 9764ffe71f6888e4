// Upload an image: the file goes as the body of one XHR to the dashboard,
// which streams it on to the image service. The XHR's upload progress
// events drive the progress bar; at the end, a link to the image's page
// (where its status flow shows where it is now).
(function () {
  "use strict";
  var form = document.getElementById("upload");
  if (!form) { return; }
  var box = document.getElementById("upload-progress");
  var bar = box.querySelector("progress");
  var text = document.getElementById("upload-text");

  form.addEventListener("submit", function (submitted) {
    submitted.preventDefault();
    var file = form.elements.file.files[0];
    var query = new URLSearchParams({
      name: form.elements.name.value,
      disk_format: form.elements.disk_format.value,
      container_format: form.elements.container_format.value
    });
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.dataset.url + "?" + query.toString());
    xhr.setRequestHeader("X-CSRF-Token", form.dataset.csrf);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    box.hidden = false;
    box.dataset.events = "0";
    xhr.upload.onprogress = function (progress) {
      if (!progress.lengthComputable) { return; }
      var percent = Math.round(100 * progress.loaded / progress.total);
      bar.value = percent;
      box.dataset.events = String(Number(box.dataset.events) + 1);
      text.textContent = percent + "% sent (" + progress.loaded + " of " +
        progress.total + " bytes)";
    };
    xhr.upload.onload = function () {
      text.textContent = "100% sent; the image service is storing it…";
    };
    xhr.onload = function () {
      var answer = {};
      try { answer = JSON.parse(xhr.responseText); } catch (ignored) { }
      if (xhr.status === 200) {
        var link = document.createElement("a");
        link.href = answer.url;
        link.id = "uploaded-image";
        link.textContent = "image " + answer.id;
        text.textContent = "Uploaded: ";
        text.append(link);
      } else {
        box.className = "progress failed";
        text.textContent = "Refused (" + xhr.status + "): " + (answer.error || xhr.statusText);
      }
    };
    xhr.onerror = function () { text.textContent = "The upload failed (connection)."; };
    xhr.send(file);
  });
}());
