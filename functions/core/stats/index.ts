/**
 * Drift statistics engine — pure TypeScript, no dependencies. See docs/drift-statistics.md.
 *
 * - numericalMetrics / categoricalMetrics: every metric of one feature (checked against scipy);
 * - driftReport: per-feature tests with Evidently's defaults, corrections, dataset verdict;
 * - sketches: mergeable per-feature summaries for windows too large to read row by row.
 */
export { type BinnedMetrics, type ChiSquareResult, chiSquareGoodnessOfFit, jsDistance } from './binned.js';
export { type CategoricalMetrics, categoricalMetrics, categoricalMetricsFromCounts } from './categorical.js';
export {
  CATEGORICAL_METRIC_NAMES,
  compareColumns,
  type MetricRecord,
  NUMERICAL_METRIC_NAMES,
} from './compare.js';
export {
  adjustPValues,
  type Correction,
  DEFAULT_THRESHOLDS,
  type DriftReport,
  type DriftReportOptions,
  type DriftTest,
  defaultTest,
  driftReport,
  type FeatureColumns,
  type FeatureDrift,
  type FeatureKind,
  type Severity,
  type TestOverride,
} from './drift-report.js';
export {
  type KsMethod,
  type KsStatistic,
  ksAsympPValue,
  ksAutoPValue,
  ksExactPValue,
  ksKolmogorovPValue,
  ksStatistic,
  kstwoSf,
} from './ks.js';
export {
  binnedNumericalMetrics,
  type NumericalDistances,
  type NumericalMetrics,
  numericalMetrics,
  populationStd,
  psiInnerEdges,
  wassersteinSorted,
} from './numerical.js';
export {
  type CategoricalValue,
  type CategoryCounts,
  countCategories,
  type NumericValue,
  prepareNumeric,
  type SortedSample,
} from './samples.js';
export {
  type CategoricalSketch,
  categoricalSketch,
  DEFAULT_SKETCH_BINS,
  mergeCategoricalSketches,
  mergeNumericSketches,
  type NumericSketch,
  numericSketch,
  parseSketch,
  sketchLayout,
} from './sketch.js';
export {
  categoricalSketchMetrics,
  type NumericSketchMetrics,
  numericSketchMetrics,
} from './sketch-metrics.js';
export { chiSquareSf, kolmogorovSf } from './special.js';
