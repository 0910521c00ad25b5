/**
 * Seeded traffic simulator for the denial-of-wallet detector: normal traffic with daily/weekly seasonality plus
 * labelled attack and false-positive-trap scenarios. Deterministic (own PRNG, random access by time), so the
 * same scenario can also be turned into real spans (`scenarioMinutes`). One import for the three parts: the model
 * (sim-model.ts), the scenarios (sim-scenarios.ts) and running them through the detector (sim-run.ts).
 */
export * from './sim-model.ts';
export * from './sim-scenarios.ts';
export * from './sim-run.ts';
