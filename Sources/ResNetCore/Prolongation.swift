import Foundation

/// Multi-level prolongation (thesis ch. 4): from a shallow network to a deeper one whose
/// residual groups are the same ODEs discretised with more, smaller steps.
///
/// Per residual group, every new block copies one old block (parameters and BatchNorm running
/// statistics); non-residual layers (stem, projections, head) are copied unchanged; h is halved.
///
/// ```swift
/// let next = ProlongationRule.insert.nextBlocks(after: model.spec.blocks)   // [2, 2] → [3, 3]
/// let (deep, map) = try prolong(model, toBlocks: next, rule: .insert, integrator: .midpoint)
/// adam.m = map.apply(to: adam.m)   // the optimizer's moments follow the parameters
/// ```

/// How the block counts grow at a level switch.
public enum ProlongationRule: Equatable, Sendable {
    /// The thesis: n → 2n−1; a new block between each pair copies the earlier block.
    case insert
    /// Chang et al. 2018: n → 2n; each block is followed by its copy.
    case double

    /// The block counts of the level after `current`.
    public func nextBlocks(after current: [Int]) -> [Int] {
        switch self {
        case .insert: return current.map { max(2 * $0 - 1, $0) }
        case .double: return current.map { 2 * $0 }
        }
    }
}

/// For every index of the new buffers, the index of the old buffer it copies. Apply it to
/// anything laid out like the parameters (Adam's m and v, SGD's velocity).
public struct ProlongationMap: Equatable, Sendable {
    public let parameterSources: [Int]
    public let stateSources: [Int]
    /// blockSources[g][j] = the old block that new block j of group g copies.
    public let blockSources: [[Int]]

    public func apply(to old: [Float]) -> [Float] { parameterSources.map { old[$0] } }
    public func applyToState(_ old: [Float]) -> [Float] { stateSources.map { old[$0] } }
}

/// Which old block each of `newCount` blocks copies when a group grows from `oldCount`.
///
/// The old blocks are the endpoints and interior times of the group's ODE: old block i sits at
/// new position round(i·(new−1)/(old−1)) and every new block copies the nearest earlier old
/// block (for 2n−1 this is exactly the thesis's insert rule). `double` (2n) uses j/2 instead.
public func blockSourceIndices(oldCount: Int, newCount: Int, rule: ProlongationRule) throws -> [Int] {
    guard newCount >= oldCount else {
        throw ResNetCoreError.invalidSpec("prolongation cannot remove blocks (\(oldCount) → \(newCount))")
    }
    if newCount == 0 { return [] }
    guard oldCount > 0 else { throw ResNetCoreError.invalidSpec("cannot prolong a group with no blocks") }
    if case .double = rule, newCount == 2 * oldCount { return (0..<newCount).map { $0 / 2 } }
    if oldCount == 1 { return [Int](repeating: 0, count: newCount) }
    let positions = (0..<oldCount).map { i in
        Int((Double(i * (newCount - 1)) / Double(oldCount - 1)).rounded())
    }
    var sources: [Int] = []
    var current = 0
    for j in 0..<newCount {
        while current + 1 < oldCount && positions[current + 1] <= j { current += 1 }
        sources.append(current)
    }
    return sources
}

/// Prolongs `model` to `newBlocks` blocks per group. h is halved unless `h` is given; the
/// integrator may change (thesis §6.3: Euler first, midpoint after).
public func prolong(_ model: ResNetModel, toBlocks newBlocks: [Int], rule: ProlongationRule = .insert,
                    integrator: Integrator? = nil, h: Double? = nil) throws -> (ResNetModel, ProlongationMap) {
    let old = model.spec
    guard newBlocks.count == old.blocks.count else {
        throw ResNetCoreError.invalidSpec("\(newBlocks.count) groups given, model has \(old.blocks.count)")
    }
    let blockSources = try zip(old.blocks, newBlocks).map {
        try blockSourceIndices(oldCount: $0, newCount: $1, rule: rule)
    }
    var spec = old
    spec.blocks = newBlocks
    spec.h = h ?? old.h / 2
    if let integrator { spec.integrator = integrator }
    let fine = ResNetModel(spec: spec, seed: model.seed)
    fine.execution = model.execution

    /// The same tensor in the block it is copied from (itself outside the blocks).
    func source(of id: ParameterName) -> ParameterName {
        guard let block = id.layer.block else { return id }
        return ParameterName(id.layer.movedToBlock(blockSources[block.group][block.index]), id.tensor)
    }
    func sources(_ newSlots: [ParameterSlot], _ oldSlots: [ParameterSlot], count: Int) throws -> [Int] {
        let oldByID = Dictionary(uniqueKeysWithValues: oldSlots.map { ($0.id, $0) })
        var result = [Int](repeating: 0, count: count)
        for slot in newSlots {
            // A stage's running statistics come from the same stage of the source block, or from
            // its first stage when the coarse level had fewer stages (Euler → midpoint).
            let id = source(of: slot.id)
            let firstStage = ParameterName(id.layer.firstStage, id.tensor)
            guard let source = oldByID[id] ?? oldByID[firstStage], source.shape == slot.shape else {
                throw ResNetCoreError.invalidSpec("no source for \(slot.name)")
            }
            for k in 0..<slot.count { result[slot.offset + k] = source.offset + k }
        }
        return result
    }
    let map = ProlongationMap(
        parameterSources: try sources(fine.slots, model.slots, count: fine.parameterCount),
        stateSources: try sources(fine.stateSlots, model.stateSlots, count: fine.state.count),
        blockSources: blockSources)
    fine.parameters = map.apply(to: model.parameters)
    fine.state = map.applyToState(model.state)
    return (fine, map)
}
