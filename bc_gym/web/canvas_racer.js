// bc-gym Canvas Racer: held arrow keys move a red car; everything is drawn every frame.
"use strict";
const canvas = document.getElementById("game");
const ctx = canvas.getContext("2d");
const held = new Set();
const state = { x: 160, y: 160, frames: 0 };
const SPEED = 120; // px per second
window.addEventListener("keydown", (e) => { held.add(e.key); e.preventDefault(); });
window.addEventListener("keyup", (e) => { held.delete(e.key); e.preventDefault(); });
window.addEventListener("blur", () => held.clear());
let last = performance.now();
function frame(now) {
  const dt = Math.min((now - last) / 1000, 0.1);
  last = now;
  if (held.has("ArrowLeft")) state.x -= SPEED * dt;
  if (held.has("ArrowRight")) state.x += SPEED * dt;
  if (held.has("ArrowUp")) state.y -= SPEED * dt;
  if (held.has("ArrowDown")) state.y += SPEED * dt;
  state.x = Math.max(60, Math.min(260, state.x));
  state.y = Math.max(20, Math.min(220, state.y));
  state.frames += 1;
  ctx.fillStyle = "rgb(40,120,40)";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = "rgb(80,80,80)";
  ctx.fillRect(50, 0, 220, canvas.height);
  ctx.fillStyle = "rgb(220,30,30)";
  ctx.fillRect(Math.round(state.x) - 10, Math.round(state.y) - 16, 20, 32);
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);
