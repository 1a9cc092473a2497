document.getElementById("version").textContent = "Package version 1.0.0, served from local files.";
