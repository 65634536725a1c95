// The breathing pacer on the client: phase from the server's reference, lung volume, stage,
// and a session clock that follows the server's beat timeline smoothly.
//
// The server sends a reference (breathing.PacerReference): at session time `t_s` the phase is
// `phase_cycles` and it advances at `rate_bpm / 60` cycles per second with `pattern` until the
// next reference. Phase 0 is the start of an inhale (docs/ARCHITECTURE.md, "Resonance
// convention"). Lung volume follows hrv.resonance.lung_volume_at: a half cosine up during the
// inhale, flat during a hold, a half cosine down during the exhale.

/** Shares of one breath: [inhale, hold after inhale, exhale, hold after exhale]. */
export function fractions(pattern) {
  const period = 60 / pattern.rate_bpm;
  const h1 = (pattern.hold_after_inhale_s || 0) / period;
  const h2 = (pattern.hold_after_exhale_s || 0) / period;
  const breathe = 1 - h1 - h2;
  const ie = pattern.inhale_to_exhale || 1;
  const inhale = (breathe * ie) / (1 + ie);
  return [inhale, h1, breathe - inhale, h2];
}

/** Phase in cycles at session time `tS` from a reference. */
export function phaseAt(reference, tS) {
  return reference.phase_cycles + ((tS - reference.t_s) * reference.rate_bpm) / 60;
}

/** Where in the breath a phase falls: {stage, progress (0-1 within the stage), volume (0-1)}. */
export function breathAt(phaseCycles, pattern) {
  const [fi, fh1, fe] = fractions(pattern);
  const frac = phaseCycles - Math.floor(phaseCycles);
  if (frac < fi) {
    const p = frac / fi;
    return { stage: "inhale", progress: p, volume: 0.5 * (1 - Math.cos(Math.PI * p)) };
  }
  if (frac < fi + fh1) {
    return { stage: "hold_after_inhale", progress: (frac - fi) / fh1, volume: 1 };
  }
  if (frac < fi + fh1 + fe) {
    const p = Math.min(1, (frac - fi - fh1) / fe);
    return { stage: "exhale", progress: p, volume: 0.5 * (1 + Math.cos(Math.PI * p)) };
  }
  const f2 = 1 - fi - fh1 - fe;
  return { stage: "hold_after_exhale", progress: f2 > 0 ? (frac - fi - fh1 - fe) / f2 : 1, volume: 0 };
}

export const STAGE_LABELS = {
  inhale: "Breathe in",
  hold_after_inhale: "Hold",
  exhale: "Breathe out",
  hold_after_exhale: "Hold",
};

/**
 * Session time now, estimated from the timestamps of live messages.
 *
 * Each beat or guidance message says "the session is at t_s"; between them the clock runs at
 * `speed` session seconds per wall second (the source's speed: 1 for a strap, higher for a
 * fast replay or simulator). Small disagreements are slewed in (a tenth per sample) so the
 * pacer never jumps; a large one (a reconnect, a new session) resets the clock. Only a sample
 * newer than the last one counts: a beat and its guidance carry the same t_s and would slew
 * twice, and an older message (a stored beat read late) says nothing about now. `samples`
 * counts the samples taken (the page shows it on the pacer, for tests and tools).
 */
export class SessionClock {
  constructor({ speed = 1, now = () => performance.now() } = {}) {
    this.speed = speed;
    this.now = now;
    this.reset();
  }

  reset() {
    this.anchorT = null;
    this.anchorWall = 0;
    this.lastSampleT = null;
    this.samples = 0;
  }

  /** Session time (s) at wall time `wallMs` (default now), or null before any sample. */
  at(wallMs = this.now()) {
    if (this.anchorT === null) return null;
    return this.anchorT + ((wallMs - this.anchorWall) / 1000) * this.speed;
  }

  /** A message said the session is at `tS` now; returns whether the clock took it. */
  observe(tS) {
    if (this.lastSampleT !== null && tS <= this.lastSampleT) return false;
    this.lastSampleT = tS;
    this.samples += 1;
    const wall = this.now();
    const est = this.at(wall);
    const tolerance = Math.max(2, 2 * this.speed);
    if (est === null || Math.abs(tS - est) > tolerance) {
      this.anchorT = tS;
    } else {
      this.anchorT = est + 0.1 * (tS - est);
    }
    this.anchorWall = wall;
    return true;
  }
}
