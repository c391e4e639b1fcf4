import Foundation
import XCTest
@testable import ResNetBench
@testable import ResNetTraining

/// The targets' table: each ratio is the quotient of two figures of one report, the verdict
/// compares it with the goal, and a shortfall is the gap as a share of the goal.
final class BenchTargetsTests: XCTestCase {
    func testRatioShortfallAndVerdict() {
        // PyTorch 400 img/s, resnet-dist 700: 1.75×, (2.0 − 1.75) / 2.0 = 12.5 % short of 2×.
        let short = BenchTarget(name: "t", measured: "700 vs 400", ratio: 700.0 / 400.0, goal: 2)
        XCTAssertEqual(short.ratio!, 1.75, accuracy: 1e-15)
        XCTAssertEqual(short.shortfall!, 0.125, accuracy: 1e-15)
        XCTAssertEqual(short.met, false)
        XCTAssertEqual(short.verdict, "short by 12.5 %")
        let met = BenchTarget(name: "t", measured: "", ratio: 900.0 / 400.0, goal: 2)
        XCTAssertEqual(met.verdict, "met")
        XCTAssertEqual(met.shortfall, 0)
        // An upper limit: 500 MB against 400 is 25 % over it; 350 MB meets it.
        let rss = BenchTarget(name: "rss", measured: "", ratio: 500.0 / 400.0, goal: 1, direction: .atMost, style: .percent)
        XCTAssertEqual(rss.verdict, "short by 25.0 %")
        XCTAssertEqual(BenchTarget(name: "rss", measured: "", ratio: 350.0 / 400.0, goal: 1, direction: .atMost).verdict, "met")
        XCTAssertEqual(BenchTarget(name: "none", measured: "", ratio: nil, goal: 2).verdict, "not measured")
        XCTAssertNil(BenchTarget(name: "none", measured: "", ratio: nil, goal: 2).met)
    }

    func testRowsFromAHandMadeReport() throws {
        let rows = BenchTargets.rows(handMadeReport())
        func row(_ prefix: String) throws -> BenchTarget {
            try XCTUnwrap(rows.first { $0.name.hasPrefix(prefix) }, prefix)
        }
        // 1: resnet-dist's paired rate over PyTorch's, per regime and thread count.
        let pytorch = rows.filter { $0.name.hasPrefix("Fashion deep, np") && $0.name.contains("PyTorch") }
        XCTAssertEqual(pytorch.count, 2)   // the limited row is no target
        XCTAssertEqual(pytorch[0].ratio!, 1.75, accuracy: 1e-12)
        XCTAssertEqual(pytorch[0].verdict, "short by 12.5 %")
        XCTAssertEqual(pytorch[0].measured, "700 vs 400 img/s")
        XCTAssertEqual(pytorch[1].ratio!, 1500.0 / 600.0, accuracy: 1e-12)
        XCTAssertEqual(pytorch[1].verdict, "met")
        // 2: training GFLOP/s over the reference (the fastest np 1 × 1 row); conv rows: the direct row when present.
        XCTAssertEqual(try row("Fashion deep training step").ratio!, 60.0 / 100.0, accuracy: 1e-12)
        XCTAssertEqual(try row("Fashion deep training step").verdict, String(format: "short by %.1f %%", 100 * (0.8 - 0.6) / 0.8))
        XCTAssertEqual(try row("Conv2d fwd+bwd 16→16").ratio!, 0.85, accuracy: 1e-12)
        XCTAssertTrue(try row("Conv2d fwd+bwd 16→16").name.contains("direct 16->16 28x28"))
        XCTAssertEqual(try row("Conv2d fwd+bwd 32→32").ratio!, 0.66, accuracy: 1e-12)
        XCTAssertEqual(try row("Conv2d fwd+bwd 32→32").verdict, String(format: "short by %.1f %%", 100 * (0.8 - 0.66) / 0.8))
        // 3: scaling ratios; 4: peak RSS against 400 MB.
        XCTAssertEqual(try row("Fashion deep, np 2 / np 1").ratio!, 700.0 / 400.0, accuracy: 1e-12)
        XCTAssertEqual(try row("Fashion deep, np 2 / np 1").verdict, String(format: "short by %.1f %%", 100 * (1.9 - 1.75) / 1.9))
        XCTAssertEqual(try row("Fashion deep, np 4").ratio!, 665.0 / 700.0, accuracy: 1e-12)
        XCTAssertEqual(try row("Fashion deep, np 4").verdict, "met")
        XCTAssertEqual(try row("Peak RSS").ratio!, 557.0 / 400.0, accuracy: 1e-12)
        XCTAssertEqual(try row("Peak RSS").verdict, String(format: "short by %.1f %%", 100 * (557.0 / 400.0 - 1)))
        // … and against PyTorch eager's one-thread process (the limited row, 1000 MB, is not the user's PyTorch).
        let versusTorch = try row("Peak RSS per rank, Fashion deep, batch 1024, np 1 / PyTorch")
        XCTAssertEqual(versusTorch.ratio!, 557.0 / 2000.0, accuracy: 1e-12)
        XCTAssertEqual(versusTorch.measured, "557 vs 2000 MB")
        XCTAssertEqual(versusTorch.verdict, "met")
        // The hand-made PyTorch row held no data set (as older files): the row says so, and says
        // both hold it once the PyTorch process did.
        XCTAssertTrue(versusTorch.name.hasSuffix("(process peak; PyTorch without the data set)"), versusTorch.name)
        var held = handMadeReport()
        for i in held.pytorch.indices { held.pytorch[i].heldDataBytes = 47_840_000 }
        let heldRow = try XCTUnwrap(BenchTargets.rows(held).first { $0.name.hasPrefix("Peak RSS per rank, Fashion deep, batch 1024, np 1 / PyTorch") })
        XCTAssertTrue(heldRow.name.hasSuffix("(process peak; both hold the data set's images)"), heldRow.name)
        XCTAssertEqual(heldRow.ratio!, 557.0 / 2000.0, accuracy: 1e-12)
        // 5: the whole run at np 2: 50 × 60 000 images at 700 img/s (≈ 71.4 min) and 50 test passes of 10 s / 2.
        let whole = try row("Fashion deep whole run")
        let wholeSeconds: Double = 50.0 * 60_000.0 / 700.0 + 50.0 * 5.0
        XCTAssertEqual(whole.ratio!, wholeSeconds / 1200, accuracy: 1e-12)
        XCTAssertEqual(whole.measured, "75.6 min: steps 71.4 min at 700 img/s, test passes 4.2 min")
        XCTAssertEqual(whole.verdict, String(format: "short by %.1f %%", 100 * (wholeSeconds / 1200 - 1)))
        // 6: multi-level saving 30 % (deep 10 s, multi-level 7 s) against a theory of 40 %.
        XCTAssertEqual(try row("Multi-level saving").ratio!, 0.75, accuracy: 1e-12)
        XCTAssertEqual(try row("Multi-level saving").verdict, String(format: "short by %.1f %%", 100 * (0.9 - 0.75) / 0.9))
        // 7: 50 × 2000 samples in 0.1 s of steps against 0.4 s: 4×, 20 % short of 5×.
        XCTAssertEqual(try row("Regression MLP").ratio!, 4, accuracy: 1e-12)
        XCTAssertEqual(try row("Regression MLP").verdict, "short by 20.0 %")
    }

    /// A torch.compile row is a target of its own, at 1.5× (eager stays at 2×), named as compiled.
    func testCompiledPyTorchRowHasItsOwnGoal() throws {
        var r = handMadeReport()
        r.pytorch.append(BenchReport.PyTorchRow(version: "2.15.0", threads: 1, batch: 1024, samplesPerSecond: 500, stepSeconds: 2.05,
                                                blasCore: "Haswell", resnetDistSamplesPerSecond: 700, regime: "environment",
                                                asInstalled: true, capability: "AVX2", compiled: true, compileSeconds: 28))
        let rows = BenchTargets.rows(r).filter { $0.name.hasPrefix("Fashion deep, np") && $0.name.contains("PyTorch") }
        XCTAssertEqual(rows.count, 3)
        let compiled = try XCTUnwrap(rows.first { $0.name.contains("compiled") })
        XCTAssertEqual(compiled.ratio!, 1.4, accuracy: 1e-12)
        XCTAssertEqual(compiled.verdict, String(format: "short by %.1f %%", 100 * (1.5 - 1.4) / 1.5))
        XCTAssertTrue(rows[0].name.contains(" eager "))
        XCTAssertTrue(r.markdown(targets: false).contains("torch.compile (28 s to compile)"))
    }

    /// Whole epochs: resnet-dist's against torch.compile'd PyTorch's of the same image count and
    /// thread count (the fastest of each) is a target at 1.9×; eager is reported beside it.
    func testWholeEpochAgainstCompiledPyTorch() throws {
        var r = handMadeReport()
        r.epochs = [.init(experiment: "fashion", variant: "deep", images: 6144, batch: 1024, ranks: 1, threads: 1, seconds: 6),
                    .init(experiment: "fashion", variant: "deep", images: 6144, batch: 1024, ranks: 2, threads: 1, seconds: 3.5)]
        r.pytorchEpochs = [
            .init(version: "2.15.0", threads: 1, images: 6144, batch: 1024, seconds: 13, compiled: true, compileSeconds: 28),
            .init(version: "2.15.0", threads: 1, images: 6144, batch: 1024, seconds: 10.2, compiled: true, compileSeconds: 27),
            .init(version: "2.15.0", threads: 1, images: 2048, batch: 1024, seconds: 1, compiled: true, compileSeconds: 27),
            .init(version: "2.15.0", threads: 1, images: 6144, batch: 1024, seconds: 15, compiled: false, compileSeconds: nil),
        ]
        let rows = BenchTargets.rows(r).filter { $0.name.hasPrefix("Fashion deep whole epoch") }
        XCTAssertEqual(rows.count, 1)   // no compiled PyTorch row at 2 threads: no np 2 target
        XCTAssertEqual(rows[0].ratio!, 10.2 / 6, accuracy: 1e-12)   // the fastest compiled epoch, 1.70×
        XCTAssertEqual(rows[0].measured, "1024 vs 602 img/s")
        XCTAssertEqual(rows[0].verdict, String(format: "short by %.1f %%", 100 * (1.9 - 1.7) / 1.9))
        let reported = BenchTargets.reported(r).filter { $0.contains("whole epoch vs PyTorch eager") }
        XCTAssertEqual(reported.count, 1)
        XCTAssertTrue(reported[0].contains("| 1024 vs 410 img/s | 2.50× |"), reported[0])
        let tables = r.markdown(targets: false)
        XCTAssertTrue(tables.contains("| PyTorch 2.15.0 compiled | 1 thread | 6144 | 1024 | 10.200 | 602 | 27.0 |"), tables)
        XCTAssertTrue(tables.contains("| resnet-dist | 2×1 | 6144 | 1024 | 3.500 | 1755 | – |"), tables)
        // Written and read back, the rows survive (and older files without them still decode).
        let back = try JSONDecoder().decode(BenchReport.self, from: try r.json())
        XCTAssertEqual(back.epochs, r.epochs)
        XCTAssertEqual(back.pytorchEpochs, r.pytorchEpochs)
    }

    /// The test pass is reported against PyTorch's at the same thread count, eager and compiled
    /// (the fastest of each), as a ratio of images per second.
    func testEvaluationIsReportedAgainstPyTorchInference() throws {
        var r = handMadeReport()   // resnet-dist: 10 000 images in 10 s at 1 thread
        r.pytorchEvaluation = [
            .init(version: "2.15.0", threads: 1, testCount: 10_000, seconds: 40, compiled: false, compileSeconds: nil),
            .init(version: "2.15.0", threads: 1, testCount: 10_000, seconds: 25, compiled: false, compileSeconds: nil),
            .init(version: "2.15.0", threads: 1, testCount: 10_000, seconds: 16, compiled: true, compileSeconds: 20),
            .init(version: "2.15.0", threads: 2, testCount: 10_000, seconds: 1, compiled: true, compileSeconds: 20),
        ]
        let lines = BenchTargets.reported(r).filter { $0.contains("vs PyTorch") }
        XCTAssertEqual(lines.count, 2)
        XCTAssertTrue(lines[0].contains("eager inference, 1 thread | 1000 vs 400 img/s | 2.50×"), lines[0])
        XCTAssertTrue(lines[1].contains("torch.compile inference, 1 thread | 1000 vs 625 img/s | 1.60×"), lines[1])
        XCTAssertTrue(r.markdown(targets: false).contains("torch.compile (20 s to compile) | fashion deep | 10000 | 1×1 | 16.000"))
    }

    func testMissingOrMismatchedFiguresAreNotMeasured() {
        var report = handMadeReport()
        report.pytorchMLP[1].batch = 128
        report.pytorch = []
        report.kernels = []
        let rows = BenchTargets.rows(report)
        XCTAssertEqual(rows.first { $0.name.hasPrefix("Regression MLP") }?.verdict, "not measured")
        XCTAssertTrue(rows.first { $0.name.hasPrefix("Regression MLP") }?.measured.hasPrefix("not the same work") ?? false)
        XCTAssertEqual(rows.first { $0.name.hasPrefix("Fashion deep vs PyTorch") }?.verdict, "not measured")
        XCTAssertEqual(rows.filter { $0.name.hasPrefix("Conv2d") }.map(\.verdict), ["not measured", "not measured"])
        XCTAssertTrue(BenchTargets.rows(BenchReport()).allSatisfy { $0.verdict == "not measured" })
    }

    func testConvRowPrefersADirectRowAndSkipsOtherShapes() {
        let layer = kernel("conv 16->16 28x28 b256 fwd+bwd", 0.6)
        let others = [kernel("conv 16->16 28x28 b256 fwd", 0.9), kernel("conv 16->32 28x28 s2 b256 fwd+bwd", 0.9),
                      kernel("conv 16->16 32x32 s1 b256 fwd+bwd", 0.9)]
        XCTAssertEqual(BenchTargets.convRow(others + [layer], channels: 16, size: 28), layer)
        let direct = kernel("direct 16->16 28x28 b256 fwd+bwd", 0.7)
        XCTAssertEqual(BenchTargets.convRow([layer, direct] + others, channels: 16, size: 28), direct)
        XCTAssertNil(BenchTargets.convRow(others, channels: 16, size: 28))
    }

    func testTheTargetsTableComesLastInTheReport() {
        let text = handMadeReport().markdown
        let heading = text.range(of: "### Targets")
        XCTAssertNotNil(heading)
        XCTAssertNil(text[heading!.upperBound...].range(of: "### "), "no table after the targets")
        XCTAssertTrue(text.contains("| 700 vs 400 img/s | 1.75× | ≥ 2.00× | short by 12.5 % |"), text)
        XCTAssertTrue(text.contains("| – | Evaluation, fashion deep, np 1 | 1000 img/s, 10.00 s for 10000 (2.5× the training rate) |"), text)
        // One section's run prints its tables without the targets (launch/bench prints them once, merged).
        let section = handMadeReport().markdown(targets: false)
        XCTAssertNil(section.range(of: "### Targets"))
        XCTAssertTrue(section.hasPrefix("### Kernels"), section)
    }

    func testRunTimeSplitsEachLevelsStepsAndTestPasses() {
        func epoch(_ e: Int, level: Int, steps: Double, eval: Double?) -> EpochRecord {
            EpochRecord(epoch: e, level: level, blocks: [level + 1], h: 1, integrator: "euler", learningRate: 0.01, trainLoss: 1,
                        testMetric: 0.5, testMetricName: .accuracy, epochSeconds: steps, samplesPerSecond: 1, allreduceShare: 0,
                        peakRSSBytes: 0, evalSeconds: eval)
        }
        let summary = RunSummary(experiment: "fashion", variant: "multilevel", ranks: 1, epochs: 3, finalTrainLoss: 1, testMetric: 0.5,
                                 testMetricName: .accuracy, trainSeconds: 10, levelSeconds: [3, 4], switchEpochs: [2], finalBlocks: [3],
                                 parameterCount: 1, peakRSSBytes: 0, runDirectory: nil,
                                 history: [epoch(1, level: 1, steps: 1, eval: 0.25), epoch(2, level: 1, steps: 2, eval: 0.5),
                                           epoch(3, level: 2, steps: 4, eval: nil)])
        let time = BenchReport.RunTime(summary)
        XCTAssertEqual(time.levels.map(\.level), [1, 2])
        XCTAssertEqual(time.levels.map(\.epochs), [2, 1])
        XCTAssertEqual(time.levels.map(\.stepSeconds), [3, 4])
        XCTAssertEqual(time.levels.map(\.evalSeconds), [0.75, 0])
        XCTAssertEqual(time.otherSeconds, 10 - 7 - 0.75, accuracy: 1e-12)
    }

    func testMultiLevelSavingCountsTrainingSteps() throws {
        // Steps: deep 9 s, multi-level 4 + 2 = 6 s (a third saved); wall time 10 s against 7.5 s
        // (a quarter): the row takes the steps' saving against the theory's 40 %.
        func time(_ levels: [(Int, Double)], wall: Double) -> BenchReport.RunTime {
            BenchReport.RunTime(levels: levels.enumerated().map { i, l in
                .init(level: i + 1, blocks: [l.0], epochs: 1, stepSeconds: l.1, evalSeconds: 0.25) }, wallSeconds: wall)
        }
        var r = BenchReport()
        r.multilevel = [BenchReport.MultiLevelRow(experiment: "fashion", subset: 4096, epochs: 2, switchEpochs: [1], ranks: 1,
                                                  deepSeconds: 10, multilevelSeconds: 7.5, deepMetric: 0.8, multilevelMetric: 0.79,
                                                  metricName: "test accuracy", theoreticalSaving: 0.4,
                                                  deepTime: time([(3, 4.5), (3, 4.5)], wall: 10), multilevelTime: time([(2, 4), (3, 2)], wall: 7.5))]
        XCTAssertEqual(r.multilevel[0].stepSaving!, 1.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(r.multilevel[0].measuredSaving, 0.25, accuracy: 1e-12)
        let row = try XCTUnwrap(BenchTargets.rows(r).first { $0.name.hasPrefix("Multi-level saving") })
        XCTAssertEqual(row.ratio!, (1.0 / 3.0) / 0.4, accuracy: 1e-12)
        XCTAssertEqual(row.measured, "33.3 % of training steps (wall time 25.0 %) vs 40.0 %")
        XCTAssertEqual(row.verdict, String(format: "short by %.1f %%", 100 * (0.9 - (1.0 / 3.0) / 0.4) / 0.9))
    }

    func testOldReportFilesStillDecode() throws {
        // A report written before the targets: no regime on PyTorch rows, no time split on multilevel rows.
        let old = """
        {"multilevel": [{"experiment": "fashion", "subset": 4096, "epochs": 2, "switchEpochs": [1], "ranks": 1,
          "deepSeconds": 10, "multilevelSeconds": 7, "deepMetric": 0.8, "multilevelMetric": 0.79,
          "metricName": "test accuracy", "theoreticalSaving": 0.4}],
         "pytorch": [{"version": "2.15.0", "threads": 1, "batch": 1024, "samplesPerSecond": 400, "stepSeconds": 2.56}]}
        """
        let report = try JSONDecoder().decode(BenchReport.self, from: Data(old.utf8))
        XCTAssertNil(report.multilevel[0].deepTime)
        XCTAssertNil(report.pytorch[0].regime)
        XCTAssertEqual(report.regression, [])
        XCTAssertEqual(report.epochs, [])
        XCTAssertEqual(BenchTargets.rows(report).first { $0.name.hasPrefix("Multi-level") }?.ratio ?? 0, 0.75, accuracy: 1e-12)
    }

    // MARK: - The hand-made report

    func kernel(_ name: String, _ ratio: Double) -> BenchReport.KernelRow {
        BenchReport.KernelRow(name: name, flops: 100e9 * ratio, seconds: 1, ratioToReference: ratio)
    }

    func measurement(ranks: Int, rate: Double, gflops: Double, rssMB: Double) -> TrainingBenchmark.Measurement {
        TrainingBenchmark.Measurement(experiment: "fashion", level: 0, blocks: [3, 3], h: 1, integrator: "euler", batch: 1024,
                                      ranks: ranks, threads: 1, overlapAllreduce: false, steps: 3, stepSeconds: 1024 / rate,
                                      meanStepSeconds: 1024 / rate, samplesPerSecond: rate, allreduceShare: 0,
                                      flopsPerSample: gflops * 1e9 / rate, gflops: gflops, peakRSSBytes: Int(rssMB * 1e6),
                                      trainCount: 60_000)
    }

    let slowRound = BenchReport.RegressionRunRow(experiment: "regression", variant: "deep", preset: "thesis", epochs: 50,
                                                 trainCount: 2000, testCount: 1500, batch: 256, runs: 5, threads: 1,
                                                 time: BenchReport.RunTime(levels: [.init(level: 1, blocks: [3], epochs: 50,
                                                                                          stepSeconds: 0.2, evalSeconds: 0.02)],
                                                                           wallSeconds: 0.3))
    let slowTorch = BenchReport.PyTorchMLPRow(version: "2.15.0", threads: 1, epochs: 50, trainCount: 2000, testCount: 1500,
                                              batch: 256, width: 32, blocks: 3, runs: 5, stepSeconds: 0.5, evalSeconds: 0.03)

    func handMadeReport() -> BenchReport {
        var r = BenchReport()
        r.referenceGflops = 100
        r.kernels = [kernel("sgemm 1024x1024x1024 (reference)", 1), kernel("conv 16->16 28x28 b256 fwd+bwd", 0.62),
                     kernel("conv 32->32 14x14 b256 fwd+bwd", 0.66), kernel("direct 16->16 28x28 b256 fwd+bwd", 0.85)]
        // np 1: the faster of two rows counts (400 img/s, 60 GFLOP/s, 557 MB).
        r.scaling = [measurement(ranks: 1, rate: 380, gflops: 57, rssMB: 560), measurement(ranks: 1, rate: 400, gflops: 60, rssMB: 557),
                     measurement(ranks: 2, rate: 700, gflops: 105, rssMB: 310), measurement(ranks: 4, rate: 665, gflops: 100, rssMB: 200)]
        r.pytorch = [
            BenchReport.PyTorchRow(version: "2.15.0", threads: 1, batch: 1024, samplesPerSecond: 400, stepSeconds: 2.56,
                                   blasCore: "Haswell", resnetDistSamplesPerSecond: 700, regime: "environment",
                                   environment: "OPENBLAS_CORETYPE=Haswell", asInstalled: true, capability: "AVX512",
                                   peakRSSBytes: 2_000_000_000),
            BenchReport.PyTorchRow(version: "2.15.0", threads: 1, batch: 1024, samplesPerSecond: 300, stepSeconds: 3.4,
                                   instructionSet: "AVX2", blasCore: "Haswell", resnetDistSamplesPerSecond: 700,
                                   regime: "environment", asInstalled: false, peakRSSBytes: 1_000_000_000),
            BenchReport.PyTorchRow(version: "2.15.0", threads: 2, batch: 1024, samplesPerSecond: 600, stepSeconds: 1.7,
                                   blasCore: "SkylakeX", resnetDistSamplesPerSecond: 1500, regime: "unset", asInstalled: true),
        ]
        r.multilevel = [BenchReport.MultiLevelRow(experiment: "fashion", subset: 4096, epochs: 2, switchEpochs: [1], ranks: 1,
                                                  deepSeconds: 10, multilevelSeconds: 7, deepMetric: 0.8, multilevelMetric: 0.79,
                                                  metricName: "test accuracy", theoreticalSaving: 0.4)]
        // Rounds: the fastest of each side counts (0.1 s of steps against PyTorch's 0.4 s).
        r.regression = [slowRound, BenchReport.RegressionRunRow(experiment: "regression", variant: "deep", preset: "thesis", epochs: 50,
                                                     trainCount: 2000, testCount: 1500, batch: 256, runs: 5, threads: 1,
                                                     time: BenchReport.RunTime(levels: [.init(level: 1, blocks: [3], epochs: 50,
                                                                                              stepSeconds: 0.1, evalSeconds: 0.02)],
                                                                               wallSeconds: 0.13))]
        r.pytorchMLP = [slowTorch, BenchReport.PyTorchMLPRow(version: "2.15.0", threads: 1, epochs: 50, trainCount: 2000, testCount: 1500,
                                                  batch: 256, width: 32, blocks: 3, runs: 5, stepSeconds: 0.4, evalSeconds: 0.03)]
        r.evaluation = [BenchReport.EvaluationRow(experiment: "fashion", variant: "deep", testCount: 10_000, ranks: 1, threads: 1,
                                                  seconds: 10)]
        return r
    }
}
