extension StreamingMatrix {
    /// Throws MFError.outOfMemory unless the per-thread piece buffers of a streaming kernel
    /// (state of every stage plus one value buffer, `pieceWidth` elements each, on every core)
    /// can be allocated now. The stage count comes from the caller (a product can hold
    /// millions of stages), so it is checked before the kernel allocates. Time O(s).
    func requirePieceWorkSpace(itemSize: Int) throws {
        let (perPiece, o1) = (Pipeline(self).stateCount + 1).multipliedReportingOverflow(by: pieceWidth)
        let (count, o2) = perPiece.multipliedReportingOverflow(by: Swift.max(1, Threads.count))
        guard !o1, !o2 else {
            throw MFError.outOfMemory("the streaming work space of \(stages.count) stages is too large")
        }
        try Memory.requireAllocatable(count, bytesPerElement: itemSize,
                               "the streaming work space of \(stages.count) stages")
    }
}
