"use strict";document.getElementById("app").textContent=Object.keys(JSON.parse(document.getElementById("strataml-data").textContent).records).length+" records";
