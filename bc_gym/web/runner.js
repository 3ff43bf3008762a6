// bc-gym Runner: the rules of bc_gym/games/runner/game.py and the picture of render.py, step
// for step, in integers (positions in 1/100 px). The constants come from runner.rules.js.
"use strict";
const R = RUNNER.rules, KINDS = RUNNER.kinds, C = RUNNER.colors, L = RUNNER.layout;

function mulberry32(seed) { // the PRNG of game.py's Mulberry32: uint32 out
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

function newGame(seed) {
  return { seed: seed >>> 0, rng: mulberry32(seed), y: 0, vy: 0, ducking: false,
           speed: R.SPEED0, distance: 0, steps: 0, timer: R.FIRST_GAP, obstacles: [], crash: "" };
}
const score = (g) => Math.floor(g.distance / R.SCORE_UNIT);
const airborne = (g) => g.y > 0 || g.vy > 0;
const height = (g) => (g.ducking ? R.DUCK_H : R.STAND_H);

function step(g, up, down) { // RunnerGame.step
  if (g.crash) return;
  if (!airborne(g)) {
    if (up) g.vy = R.JUMP_V;
    g.ducking = down && !up;
  } else g.ducking = false;
  if (airborne(g)) {
    g.y += g.vy;
    g.vy -= R.GRAVITY * (down ? R.FAST_FALL : 1);
    if (g.y <= 0) { g.y = 0; g.vy = 0; }
  }
  for (const o of g.obstacles) o.x -= g.speed;
  g.obstacles = g.obstacles.filter((o) => o.x + 100 * KINDS[o.kind].w > 0);
  g.timer -= 1;
  if (g.timer <= 0) {
    const kind = RUNNER.kindDraw[g.rng() % RUNNER.kindDraw.length];
    g.obstacles.push({ kind, x: 100 * R.WIDTH });
    g.timer = R.GAP_MIN + (g.rng() % R.GAP_RANGE);
  }
  g.distance += g.speed;
  g.speed = Math.min(g.speed + R.ACCEL, R.SPEED_MAX);
  g.steps += 1;
  const hit = hitObstacle(g);
  if (hit) g.crash = KINDS[hit.kind].name;
}

function hitObstacle(g) { // RunnerGame.hit
  const m = R.HIT_MARGIN;
  const x0 = 100 * R.PLAYER_X + m, x1 = 100 * (R.PLAYER_X + R.PLAYER_W) - m;
  const y0 = g.y + m, y1 = g.y + 100 * height(g) - m;
  return g.obstacles.find((o) => {
    const k = KINDS[o.kind], oy0 = 100 * k.lift;
    return o.x < x1 && x0 < o.x + 100 * k.w && oy0 < y1 && y0 < oy0 + 100 * k.h;
  });
}

// Drawing: render.py's rectangles, pixel for pixel.
function rect(ctx, color, left, top, w, h) {
  ctx.fillStyle = `rgb(${C[color].join(",")})`;
  ctx.fillRect(left, top, w, h);
}
const textWidth = (s) => (4 * s.length - 1) * L.FONT_SCALE;
function text(ctx, s, row, col) {
  const k = L.FONT_SCALE;
  [...s].forEach((ch, i) => {
    const bits = RUNNER.glyphs[ch];
    for (let b = 0; b < 15; b++) {
      if (bits[b] === "1") rect(ctx, "ground", col + (4 * i + (b % 3)) * k, row + Math.floor(b / 3) * k, k, k);
    }
  });
}

function draw(ctx, g) {
  const gy = R.GROUND_Y, d = Math.floor(g.distance / 100);
  rect(ctx, "background", 0, 0, R.WIDTH, R.HEIGHT);
  rect(ctx, "ground", 0, gy, R.WIDTH, 1);
  for (let c = 0; c < R.WIDTH; c++) {
    if ((c + d) % L.DUST_PERIOD < L.DUST_LEN) rect(ctx, "dust", c, gy + L.DUST_ROW, 1, 1);
  }
  for (const o of g.obstacles) {
    const k = KINDS[o.kind];
    rect(ctx, k.lift > 0 ? "bird" : "cactus", Math.floor(o.x / 100), gy - k.lift - k.h, k.w, k.h);
  }
  rect(ctx, "runner", R.PLAYER_X, gy - Math.floor(g.y / 100) - height(g), R.PLAYER_W, height(g));
  const s = String(Math.min(score(g), 99999)).padStart(5, "0");
  text(ctx, s, L.SCORE_ROW, R.WIDTH - 8 - textWidth(s));
  if (g.crash) text(ctx, "GAME OVER", L.GAME_OVER_ROW, Math.floor((R.WIDTH - textWidth("GAME OVER")) / 2));
}

// ?simulate=SEED&actions=0120...: run the rules headless, report the result in #result.
function simulate(ctx, seed, actions) {
  const g = newGame(seed);
  for (const a of actions) {
    if (g.crash) break;
    step(g, a === "1", a === "2");
  }
  draw(ctx, g);
  const rng = mulberry32(seed);
  document.getElementById("result").textContent = JSON.stringify({
    seed: g.seed, steps: g.steps, score: score(g), crash: g.crash, y: g.y, speed: g.speed,
    distance: g.distance, obstacles: g.obstacles, rng: [rng(), rng(), rng()],
    frame: ctx.canvas.toDataURL("image/png"),
  });
}

// Play: fixed steps at R.FPS from the held arrows; title = score, best, games finished, and the
// score of the last finished game (set on the crash frame, with games, so a reader never mixes
// one game's count with another's score).
function play(ctx, seed) {
  const held = new Set();
  let g = newGame(seed), best = 0, games = 0, lastScore = 0, last = 0, acc = 0, restartTimer = null;
  const showTitle = () => {
    const t = `bc-gym Runner | score ${score(g)} | best ${best} | games ${games} | last ${lastScore}`;
    if (document.title !== t) document.title = t;
  };
  const restart = () => {
    clearTimeout(restartTimer);
    g = newGame(g.seed + 1);
    last = performance.now();
    acc = 0;
    requestAnimationFrame(frame);
  };
  const frame = (now) => {
    acc += Math.min(now - last, 200);
    last = now;
    while (acc >= 1000 / R.FPS && !g.crash) {
      step(g, held.has("ArrowUp"), held.has("ArrowDown"));
      acc -= 1000 / R.FPS;
    }
    draw(ctx, g);
    if (g.crash) { // freeze: no more frames until the restart
      games += 1;
      lastScore = score(g);
      best = Math.max(best, lastScore);
      restartTimer = setTimeout(restart, R.RESTART_MS);
    } else requestAnimationFrame(frame);
    showTitle();
  };
  const gameKey = (e) => ["ArrowUp", "ArrowDown", " "].includes(e.key);
  addEventListener("keydown", (e) => {
    if (e.key === " " && g.crash) restart();
    held.add(e.key);
    if (gameKey(e)) e.preventDefault(); // no scrolling; browser shortcuts still work
  });
  addEventListener("keyup", (e) => {
    held.delete(e.key);
    if (gameKey(e)) e.preventDefault();
  });
  addEventListener("blur", () => held.clear());
  last = performance.now();
  requestAnimationFrame(frame);
}

const ctx = document.getElementById("game").getContext("2d");
const params = new URLSearchParams(location.search);
if (params.has("simulate")) simulate(ctx, Number(params.get("simulate")), params.get("actions") || "");
else play(ctx, Number(params.get("seed") || 1));
