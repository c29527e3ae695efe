// The umbrella module: `import Saddle` brings in the whole library (the experiments and their
// report are a product of their own, SaddleExperiments).
@_exported import SaddleCore
@_exported import SaddleLayers
@_exported import SaddleOptimizers
@_exported import SaddleData
@_exported import SaddleTraining
@_exported import SaddleRegistry
@_exported import SaddleTransforms
@_exported import SaddleRuns
