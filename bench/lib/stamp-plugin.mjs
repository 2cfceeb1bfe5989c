// A Sluice plugin for the latency benchmark: the job records the moment it started, in
// high-resolution wall time comparable across processes.
export const jobs = {
  stamp(environ) {
    environ.started = performance.timeOrigin + performance.now();
    return environ;
  },
};
