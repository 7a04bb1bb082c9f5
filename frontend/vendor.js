// The esbuild entry of static/vendor/arena-vendor.js: the libraries the game's ES modules read as globals.
import L from "leaflet";
import greatCircle from "@turf/great-circle";

window.L = L;
window.turfGreatCircle = greatCircle;
