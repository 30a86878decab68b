/// Winograd convolution for 3x3 kernels at stride 1 with padding 1 (Lavin & Gray 2016), with
/// 2x2 output tiles, F(2x2, 3x3), described here, or 4x4 tiles, F(4x4, 3x3)
/// (`WinogradF4Transforms.swift`: the same passes with 6x6 patches and 36 positions).
///
/// The output is cut into 2x2 tiles; tile t reads the 4x4 input patch d whose top-left pixel is
/// (2ty - 1, 2tx - 1) (zero outside the image). Per tile and channel pair,
///     y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A,
/// with
///     Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1],
///     Aᵀ = [1 1 1 0; 0 1 -1 -1].
/// Summing over input channels turns the elementwise product into 16 independent GEMMs, one per
/// transform position k: M_k [O, tiles] = U_k [O, C] × V_k [C, tiles], with U = G g Gᵀ (the
/// weights) and V = Bᵀ d B (the input). That is 16 multiplications per 2x2 outputs and channel
/// pair instead of 36: 2.25x fewer GEMM FLOPs than im2col (F(4x4): 4x fewer).
///
/// Backward, exactly the adjoint of the same computation:
/// - input gradient: dx is the convolution of dy with the weights flipped in both spatial axes
///   and with in/out channels swapped, again 3x3 stride 1 padding 1, so the forward machinery
///   runs on dy, reading U transposed (see `convolve`);
/// - weight gradient: dU_k [O, C] = Σ_tiles dM_k Vᵀ_k with dM = A dy Aᵀ per tile (a 2x2 dy tile
///   spread onto 4x4; outputs beyond the image count as zero), then dW = Gᵀ dU G.
///
/// The forward pass and the input gradient split the work over threads by rows of tiles across
/// the whole batch (fixed chunks, so results are bit-identical for a thread count); each thread
/// takes its rows a unit at a time, sized so that its transformed blocks stay around the core's
/// L2 (`init`). The weight gradient takes its own units, wider on small maps, in order and
/// splits each one's transforms by planes and its GEMMs by position (`accumulateWeightGradient`).
struct WinogradPlan {
    let batch: Int, channels: Int, outChannels: Int, height: Int, width: Int
    /// Side of the output tiles: 2 for F(2x2, 3x3), 4 for F(4x4, 3x3) (`WinogradF4Transforms.swift`).
    let tile: Int
    let tilesH: Int, tilesW: Int
    /// Rows of tiles per unit of the forward pass and the input gradient (`convolve`).
    let rowsPerUnit: Int
    /// Rows of tiles per unit of the weight gradient (`accumulateWeightGradient`): its GEMMs
    /// sum over a unit's tiles (K = the unit's columns), so they keep the wider units.
    let gradientRowsPerUnit: Int

    /// Whether the geometry is one this path computes (3x3, stride 1, padding 1).
    static func supports(_ g: ConvGeometry) -> Bool {
        g.kernelH == 3 && g.kernelW == 3 && g.strideH == 1 && g.strideW == 1 && g.padH == 1 && g.padW == 1
    }

    /// The tile side the automatic choice takes, or nil for another path: with few channels
    /// the GEMMs are too thin (K = C) to beat one im2col GEMM with K = 9C, and maps under 4x4
    /// give each transformed weight block too few tiles to reuse it (ResNet-18's 2x2 layer at
    /// batch 64 ran slower). F(4x4) computes 36 products per 4x4 tile where F(2x2) computes 64
    /// and im2col 144, and its transformed blocks are 2.25 values per output instead of 4, so
    /// it is taken wherever its partial tiles waste no more than F(2x2)'s do, with at most
    /// 1.6x the outputs computed, and the batch has 128 tiles or more: with fewer, its 36
    /// GEMMs are too narrow (U-Net's 8x8 layers at batch 8, 32 tiles: 0.75-0.8x PyTorch's
    /// speed against about 1x for F(2x2)'s 128 tiles).
    static func preferredTile(_ g: ConvGeometry, batch: Int, outChannels: Int) -> Int? {
        guard supports(g) && g.channels >= 16 && outChannels >= 16 && g.height >= 4 && g.width >= 4 else { return nil }
        let tiles2 = ((g.height + 1) / 2) * ((g.width + 1) / 2), tiles4 = ((g.height + 3) / 4) * ((g.width + 3) / 4)
        if 36 * tiles4 <= 16 * tiles2 && 16 * tiles4 * 5 <= 8 * g.height * g.width && batch * tiles4 >= 128 { return 4 }
        return 16 * tiles2 <= 5 * g.height * g.width ? 2 : nil
    }

    /// `unitColumns` overrides the tiles per unit (tests force many small units).
    init(geometry g: ConvGeometry, batch: Int, outChannels: Int, tile: Int = 2, unitColumns: Int? = nil) {
        precondition(tile == 2 || tile == 4, "Winograd tiles are 2x2 or 4x4, not \(tile)x\(tile)")
        self.batch = batch
        channels = g.channels; self.outChannels = outChannels
        height = g.height; width = g.width
        self.tile = tile
        tilesH = (g.height + tile - 1) / tile; tilesW = (g.width + tile - 1) / tile
        // About 256K floats of transformed input and output per unit (positions (C + O) per
        // tile), but enough tiles that the GEMMs stay wide enough to run near OpenBLAS's peak:
        // 256 with few channels, fewer with many (K = C is deep enough there; 256 tiles of
        // 512 + 512 channels made 38 MB of scratch per thread for F(4x4)). The weight
        // gradient keeps that floor; the forward pass and the input gradient on small maps
        // (16 tiles an image or fewer) with up to 256 channels in and out go down to 32
        // tiles, so that a unit's blocks stay in L2 (forward, 2 threads, batch 64: 16x16 maps
        // of 64 channels 5.5 -> 4.5 ms, 8x8 of 128 6.1 -> 4.5 ms, 14x14 of 64 4.9 -> 4.1 ms;
        // larger maps and more channels ran as fast or faster with the wider units).
        let positions = (tile + 2) * (tile + 2)
        let fit = (256 * 1024) / (positions * (channels + outChannels))
        let floor = Swift.min(256, 65536 / (channels + outChannels))
        let smallMaps = tilesH * tilesW <= 16 && channels + outChannels <= 256
        if let unitColumns {
            rowsPerUnit = Swift.max(1, unitColumns / tilesW); gradientRowsPerUnit = rowsPerUnit
        } else {
            rowsPerUnit = Self.unitRows(columns: Swift.min(4096, Swift.max(smallMaps ? 32 : floor, fit)), tilesW: tilesW)
            gradientRowsPerUnit = Self.unitRows(columns: Swift.min(4096, Swift.max(floor, fit)), tilesW: tilesW)
        }
    }

    /// Rows of tiles for units of about `columns` tiles, one row less where that would make
    /// the unit's tile count a power of two from 64 up: the blocks' rows (and the GEMMs'
    /// leading dimension) would then be 256 B, 512 B, 1 KiB ... long, and their lines fall
    /// into few cache sets (the forward pass on 16x16 maps of 64 channels at batch 64 took
    /// 9.1 ms with 256-tile units against 5.5 ms with 192; 64x64 maps at batch 8, 13.4 against
    /// 8.8 ms).
    static func unitRows(columns: Int, tilesW: Int) -> Int {
        let rows = Swift.max(1, columns / tilesW), count = rows * tilesW
        return rows > 1 && count >= 64 && count & (count - 1) == 0 ? rows - 1 : rows
    }

    /// Side of the input patches and of the transformed tiles.
    var alpha: Int { tile &+ 2 }

    /// Transform positions per tile: 16 for F(2x2), 36 for F(4x4).
    var positions: Int { alpha &* alpha }

    /// Tile rows across the batch: row r is tile row r % tilesH of image r / tilesH.
    var tileRows: Int { batch * tilesH }

    /// Tile columns of the largest unit of `unitRows` rows (scratch sizes).
    func maxColumns(_ unitRows: Int) -> Int { Swift.min(unitRows, tileRows) * tilesW }

    /// Values from one transform position's [planes, columns] block to the next: one cache line
    /// more than the block, so that the positions' blocks do not start at multiples of 4 KiB
    /// apart (64 planes of 256 tiles are 64 KiB): the transforms write all positions of a tile
    /// at once, and at such strides their lines competed for the same cache sets (the F(4x4)
    /// input transform ran 2x slower).
    func positionStride(_ planes: Int, _ columns: Int) -> Int { planes &* columns &+ 64 / MemoryLayout<Float>.stride }

    /// Values from one transform position's [O, C] block of transformed weights (or of their
    /// gradient) to the next: one cache line more than the block, as `positionStride`.
    static func weightStride(_ outChannels: Int, _ channels: Int) -> Int { outChannels &* channels &+ 64 / MemoryLayout<Float>.stride }

    /// Values of the transformed weights: `positions` blocks `weightStride` apart.
    var weightBlock: Int { positions &* Self.weightStride(outChannels, channels) }

    /// Scratch of one unit's transformed blocks: V and M (or dM) for `cin` and `cout` planes.
    func transformScratch(_ cin: Int, _ cout: Int, unitRows: Int) -> Int {
        let columns = maxColumns(unitRows)
        return positions * (positionStride(cin, columns) + positionStride(cout, columns))
    }

    /// Units of tile rows: the tile rows split into one contiguous range per thread, each cut
    /// into units of at most `rowsPerUnit` rows (`units(of:most:)`). The threads take the next
    /// unit as they finish one (`Parallel.forEachTask`), so a thread that runs slow holds the
    /// other up by one unit at most; the units, and so every value, are those of a fixed split.
    func forEachUnit(_ body: (_ rows: Range<Int>) -> Void) {
        let chunks = Parallel.chunkCount(tileRows)
        var units: [Range<Int>] = []
        for chunk in 0..<chunks {
            units += Self.units(of: Parallel.chunkRange(chunk, of: tileRows, chunks: chunks), most: rowsPerUnit)
        }
        Parallel.forEachTask(units.count) { body(units[$0]) }
    }

    /// `rows` cut into as few units of at most `most` rows as will hold them, of equal size
    /// (give or take a row). Units of exactly `most` rows left a short last unit: ResNet-18's
    /// 4x4 maps at batch 64 ran a thread's 64 rows of tiles as 63 + 1, whose GEMMs on 2
    /// columns ran far below peak (forward of 512 -> 512 channels there, 2 threads: 20.6 ms
    /// against 14.3 ms with even units).
    static func units(of rows: Range<Int>, most: Int) -> [Range<Int>] {
        guard !rows.isEmpty else { return [] }
        let count = (rows.count + most - 1) / most
        return (0..<count).map { unit in
            let part = Parallel.chunkRange(unit, of: rows.count, chunks: count)
            return rows.lowerBound + part.lowerBound..<rows.lowerBound + part.upperBound
        }
    }

    // MARK: transforms

    /// Calls body(c, r) for every plane c of `planes` and tile row r of `rows`, image by image:
    /// all planes of one image (adjacent in memory) before the next image, so that the transforms read and
    /// write activations in memory order. Channel-major order across a unit's images made each
    /// plane a cold miss: the loads of the input rows were half of the input transform's time.
    @inline(__always)
    func forEachPlaneRow(_ rows: Range<Int>, planes: Range<Int>, _ body: (_ c: Int, _ r: Int) -> Void) {
        var start = rows.lowerBound
        while start < rows.upperBound {
            let end = Swift.min(rows.upperBound, (start / tilesH + 1) * tilesH)
            for c in planes {
                for r in start..<end { body(c, r) }
            }
            start = end
        }
    }

    /// Rows of tiles whose lines `inputTransform` combines before it reads any of them back.
    static let lineBatch = 8

    /// Values of one padded line of `inputTransform`: input columns -1 ... 2 tilesW for 2x2
    /// tiles; -1 ... 4 tilesW + 2 for 4x4 tiles (the last two only read, as zeros, by the
    /// vector loads of the last tiles).
    var lineWidth: Int { tile == 2 ? 2 &* tilesW &+ 2 : 4 &* tilesW &+ 4 }

    /// Scratch `inputTransform` needs for its lines: `lineBatch` groups of `alpha` padded
    /// lines and one row of zeros.
    var lineScratch: Int { Self.lineBatch &* alpha &* lineWidth &+ width }

    /// V [positions, planes, columns] = Bᵀ d B of every tile in `rows` of `src` [N, planes, H, W]
    /// (column (r - rows.lowerBound) * tilesW + tx; position blocks `positionStride` apart), or
    /// of the planes in `planeRange` only. `lines` holds `lineScratch` values.
    ///
    /// Per plane and row of tiles, the rows of Bᵀ d over the `alpha` input rows from
    /// tile ty - 1 (zero outside the image) go into padded lines (line position p is input
    /// column p - 1); for 2x2 tiles t0 = d0 - d2, t1 = d1 + d2, t2 = d2 - d1, t3 = d1 - d3
    /// (4x4 tiles: `combineRows4`), and each tile's columns of the lines then combine the
    /// same way. The lines of `lineBatch` rows of tiles
    /// are written before the first is read back: read right after it was written, a line
    /// came back through a failed store-to-load forward (vector loads at other offsets than
    /// the stores), which stalled on most loads and was a third of this function's time.
    func inputTransform<T: TensorScalar>(_ src: UnsafePointer<T>, planes: Int, only planeRange: Range<Int>? = nil, rows: Range<Int>,
                                         into v: UnsafeMutablePointer<T>, lines: UnsafeMutablePointer<T>) {
        let columns = rows.count &* tilesW
        let stride16 = positionStride(planes, columns)
        let plane = height &* width
        let zeros = lines + Self.lineBatch &* alpha &* lineWidth
        zeroRun(zeros, width)
        // The queue of (plane, row) pairs whose lines wait in `lines`, and after it their count:
        // kept in this buffer rather than in a local variable, which the closures below would
        // capture in a box checked for exclusive access on every use (1.5% of ResNet-18's
        // training step went to those checks).
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 &* Self.lineBatch &+ 1) { queue in
            let count = queue.baseAddress! + 2 &* Self.lineBatch
            count.pointee = 0
            func flush() {
                for slot in 0..<count.pointee {
                    let c = queue[2 &* slot], r = queue[2 &* slot &+ 1]
                    let out = v + (c &* columns &+ (r &- rows.lowerBound) &* tilesW), group = lines + slot &* alpha &* lineWidth
                    if tile == 2 { tileRow(group, into: out, stride16: stride16) } else { tileRow4(group, into: out, stride: stride16) }
                }
                count.pointee = 0
            }
            forEachPlaneRow(rows, planes: planeRange ?? 0..<planes) { c, r in
                let n = r / tilesH, ty = r &- n &* tilesH
                let image = src + (n &* planes &+ c) &* plane
                @inline(__always) func row(_ i: Int) -> UnsafePointer<T> {
                    let ih = tile &* ty &- 1 &+ i
                    return ih >= 0 && ih < height ? image + ih &* width : UnsafePointer(zeros)
                }
                let queued = count.pointee
                let group = lines + queued &* alpha &* lineWidth
                if tile == 2 {
                    combineRows(row(0), row(1), row(2), row(3), into: group)
                } else {
                    combineRows4(row(0), row(1), row(2), row(3), row(4), row(5), into: group)
                }
                queue[2 &* queued] = c; queue[2 &* queued &+ 1] = r
                count.pointee = queued &+ 1
                if queued &+ 1 == Self.lineBatch { flush() }
            }
            flush()
        }
    }

    /// The four padded lines of one plane's row of tiles from its input rows d0 ... d3.
    @inline(__always)
    private func combineRows<T: TensorScalar>(_ d0: UnsafePointer<T>, _ d1: UnsafePointer<T>, _ d2: UnsafePointer<T>, _ d3: UnsafePointer<T>,
                                             into lines: UnsafeMutablePointer<T>) {
        let l0 = lines, l1 = lines + lineWidth, l2 = lines + 2 &* lineWidth, l3 = lines + 3 &* lineWidth
        // Eight columns at a time (written out: the compiler cannot prove that the lines and
        // the image rows do not overlap, and left this loop scalar).
        var x = 0
        while x &+ 8 <= width {
            let a = WinogradSIMD.load8(d0 + x), b = WinogradSIMD.load8(d1 + x)
            let e = WinogradSIMD.load8(d2 + x), f = WinogradSIMD.load8(d3 + x)
            WinogradSIMD.store8(a - e, l0 + (x &+ 1)); WinogradSIMD.store8(b + e, l1 + (x &+ 1))
            WinogradSIMD.store8(e - b, l2 + (x &+ 1)); WinogradSIMD.store8(b - f, l3 + (x &+ 1))
            x &+= 8
        }
        while x < width {
            let a = d0[x], b = d1[x], e = d2[x], f = d3[x]
            l0[x &+ 1] = a - e; l1[x &+ 1] = b + e; l2[x &+ 1] = e - b; l3[x &+ 1] = b - f
            x &+= 1
        }
        let tail = lineWidth &- 1 &- width
        l0[0] = 0; l1[0] = 0; l2[0] = 0; l3[0] = 0
        zeroRun(l0 + (1 &+ width), tail); zeroRun(l1 + (1 &+ width), tail)
        zeroRun(l2 + (1 &+ width), tail); zeroRun(l3 + (1 &+ width), tail)
    }

    /// V of one plane's row of tiles from its four lines: tile tx of line i reads
    /// t[2tx ... 2tx + 3] and writes transform positions 4i ... 4i + 3 (`stride16` apart).
    @inline(__always)
    private func tileRow<T: TensorScalar>(_ lines: UnsafeMutablePointer<T>, into out: UnsafeMutablePointer<T>, stride16: Int) {
        for i in 0..<4 {
            let t = lines + i &* lineWidth
            let o = out + (4 &* i) &* stride16
            // The even and odd lanes of two loads of W give W.Half.scalarCount tiles at once;
            // eight, then four and two on small maps (8x8 maps have four tiles a row, 4x4
            // two), then one.
            @inline(__always) func tiles<W: SIMDHalves>(_: W.Type, from start: Int) -> Int where W.Scalar == T {
                var tx = start
                while tx &+ W.Half.scalarCount <= tilesW {
                    let p = 2 &* tx
                    let lo = WinogradSIMD.load(W.self, t + p), hi = WinogradSIMD.load(W.self, t + (p &+ 2))
                    let a = lo.evenHalf, b = lo.oddHalf, e = hi.evenHalf, f = hi.oddHalf
                    WinogradSIMD.store(a - e, o + tx)
                    WinogradSIMD.store(b + e, o + (stride16 &+ tx))
                    WinogradSIMD.store(e - b, o + (2 &* stride16 &+ tx))
                    WinogradSIMD.store(b - f, o + (3 &* stride16 &+ tx))
                    tx &+= W.Half.scalarCount
                }
                return tx
            }
            var tx = tiles(SIMD4<T>.self, from: tiles(SIMD8<T>.self, from: tiles(SIMD16<T>.self, from: 0)))
            while tx < tilesW {
                let p = 2 &* tx
                let a = t[p], b = t[p &+ 1], e = t[p &+ 2], f = t[p &+ 3]
                o[tx] = a - e
                o[stride16 &+ tx] = b + e
                o[2 &* stride16 &+ tx] = e - b
                o[3 &* stride16 &+ tx] = b - f
                tx &+= 1
            }
        }
    }

    /// dst [N, planes, H, W] rows of the tiles in `rows` = Aᵀ M A (+ bias), from M [16, planes, columns].
    func outputTransform<T: TensorScalar>(_ m: UnsafePointer<T>, planes: Int, rows: Range<Int>, bias: UnsafePointer<T>?,
                                          into dst: UnsafeMutablePointer<T>) {
        let columns = rows.count &* tilesW
        let stride16 = positionStride(planes, columns)
        let plane = height &* width
        let evenW = width & 1 == 0
        forEachPlaneRow(rows, planes: 0..<planes) { c, r in
            let shift = bias?[c] ?? 0
            let n = r / tilesH, ty = r &- n &* tilesH
            let image = dst + (n &* planes &+ c) &* plane
            let top = image + 2 &* ty &* width
            let hasBottom = 2 &* ty &+ 1 < height
            let bottom = top + width
            let src = m + (c &* columns &+ (r &- rows.lowerBound) &* tilesW)
            // W.Half.scalarCount tiles at a time while all their output columns lie inside the
            // image (eight, then four and two on small maps), then one.
            @inline(__always) func tiles<W: SIMDHalves>(_: W.Type, from start: Int) -> Int where W.Scalar == T {
                var tx = start
                while 2 &* (tx &+ W.Half.scalarCount) <= width {
                    @inline(__always) func at(_ k: Int) -> W.Half { WinogradSIMD.load(W.Half.self, src + (k &* stride16 &+ tx)) }
                    let s00 = at(0) + at(4) + at(8), s10 = at(4) - at(8) - at(12)
                    let s01 = at(1) + at(5) + at(9), s11 = at(5) - at(9) - at(13)
                    let s02 = at(2) + at(6) + at(10), s12 = at(6) - at(10) - at(14)
                    let s03 = at(3) + at(7) + at(11), s13 = at(7) - at(11) - at(15)
                    let x = 2 &* tx
                    var row = W()
                    row.evenHalf = s00 + s01 + s02 + shift; row.oddHalf = s01 - s02 - s03 + shift
                    WinogradSIMD.store(row, top + x)
                    if hasBottom {
                        row.evenHalf = s10 + s11 + s12 + shift; row.oddHalf = s11 - s12 - s13 + shift
                        WinogradSIMD.store(row, bottom + x)
                    }
                    tx &+= W.Half.scalarCount
                }
                return tx
            }
            var tx = tiles(SIMD4<T>.self, from: tiles(SIMD8<T>.self, from: tiles(SIMD16<T>.self, from: 0)))
            while tx < tilesW {
                @inline(__always) func at(_ k: Int) -> T { src[k &* stride16 &+ tx] }
                // s0 = m0 + m1 + m2, s1 = m1 - m2 - m3 over the rows of the 4x4 block.
                let s00 = at(0) + at(4) + at(8), s10 = at(4) - at(8) - at(12)
                let s01 = at(1) + at(5) + at(9), s11 = at(5) - at(9) - at(13)
                let s02 = at(2) + at(6) + at(10), s12 = at(6) - at(10) - at(14)
                let s03 = at(3) + at(7) + at(11), s13 = at(7) - at(11) - at(15)
                let x = 2 &* tx
                top[x] = s00 + s01 + s02 + shift
                let right = evenW || x &+ 1 < width
                if right { top[x &+ 1] = s01 - s02 - s03 + shift }
                if hasBottom {
                    bottom[x] = s10 + s11 + s12 + shift
                    if right { bottom[x &+ 1] = s11 - s12 - s13 + shift }
                }
                tx &+= 1
            }
        }
    }

    /// dM [16, planes, columns] = A dy Aᵀ of every 2x2 tile of `g` [N, planes, H, W] in `rows`
    /// (the adjoint of `outputTransform`; positions beyond the image are zero), or of the
    /// planes in `planeRange` only.
    func gradientTransform<T: TensorScalar>(_ g: UnsafePointer<T>, planes: Int, only planeRange: Range<Int>, rows: Range<Int>,
                                            into dm: UnsafeMutablePointer<T>) {
        let columns = rows.count &* tilesW
        let stride16 = positionStride(planes, columns)
        let plane = height &* width
        forEachPlaneRow(rows, planes: planeRange) { c, r in
            let n = r / tilesH, ty = r &- n &* tilesH
            let image = g + (n &* planes &+ c) &* plane
            let top = image + 2 &* ty &* width
            let hasBottom = 2 &* ty &+ 1 < height
            let out = dm + (c &* columns &+ (r &- rows.lowerBound) &* tilesW)
            // q = A g: rows (g0, g0 + g1, g0 - g1, -g1) of the 2x2 tile; then dM = q Aᵀ alike
            // along the columns.
            @inline(__always) func spread<V: SIMD>(_ tx: Int, _ i: Int, _ a: V, _ b: V) where V.Scalar == T {
                let o = UnsafeMutableRawPointer(out + ((4 &* i) &* stride16 &+ tx))
                let step = stride16 &* MemoryLayout<T>.stride
                o.storeBytes(of: a, as: V.self)
                o.storeBytes(of: a + b, toByteOffset: step, as: V.self)
                o.storeBytes(of: a - b, toByteOffset: 2 &* step, as: V.self)
                o.storeBytes(of: .zero - b, toByteOffset: 3 &* step, as: V.self)
            }
            @inline(__always) func spread(_ tx: Int, _ i: Int, _ a: T, _ b: T) {
                let o = out + ((4 &* i) &* stride16 &+ tx)
                o[0] = a
                o[stride16] = a + b
                o[2 &* stride16] = a - b
                o[3 &* stride16] = -b
            }
            // W.Half.scalarCount tiles at a time while their columns lie inside the image.
            @inline(__always) func tiles<W: SIMDHalves>(_: W.Type, from start: Int) -> Int where W.Scalar == T {
                var tx = start
                while 2 &* (tx &+ W.Half.scalarCount) <= width {
                    let upper = WinogradSIMD.load(W.self, top + 2 &* tx)
                    let lower = hasBottom ? WinogradSIMD.load(W.self, top + (width &+ 2 &* tx)) : W()
                    let g00 = upper.evenHalf, g01 = upper.oddHalf, g10 = lower.evenHalf, g11 = lower.oddHalf
                    spread(tx, 0, g00, g01)
                    spread(tx, 1, g00 + g10, g01 + g11)
                    spread(tx, 2, g00 - g10, g01 - g11)
                    spread(tx, 3, .zero - g10, .zero - g11)
                    tx &+= W.Half.scalarCount
                }
                return tx
            }
            var tx = tiles(SIMD4<T>.self, from: tiles(SIMD8<T>.self, from: tiles(SIMD16<T>.self, from: 0)))
            while tx < tilesW {
                let x = 2 &* tx
                let right = x &+ 1 < width
                let g00 = top[x], g01 = right ? top[x &+ 1] : 0
                let g10 = hasBottom ? top[width &+ x] : 0, g11 = hasBottom && right ? top[width &+ x &+ 1] : 0
                spread(tx, 0, g00, g01)
                spread(tx, 1, g00 + g10, g01 + g11)
                spread(tx, 2, g00 - g10, g01 - g11)
                spread(tx, 3, -g10, -g11)
                tx &+= 1
            }
        }
    }

    /// U [16, O, C] = G g Gᵀ for weights w [O, C, 3, 3].
    static func weightTransform<T: TensorScalar>(_ w: UnsafePointer<T>, outChannels: Int, channels: Int, into u: UnsafeMutablePointer<T>) {
        let count = outChannels &* channels, stride = weightStride(outChannels, channels)
        Parallel.forEachChunk(count, grain: 4096) { _, indices in
            // Eight kernels at a time (72 consecutive weights), the same operations lane-wise.
            var first = indices.lowerBound
            while first &+ 8 <= indices.upperBound {
                let base = w + first &* 9
                @inline(__always) func tap(_ t: Int) -> SIMD8<T> {
                    SIMD8<T>(base[t], base[9 &+ t], base[18 &+ t], base[27 &+ t], base[36 &+ t], base[45 &+ t], base[54 &+ t], base[63 &+ t])
                }
                @inline(__always) func rows(_ a: SIMD8<T>, _ b: SIMD8<T>, _ e: SIMD8<T>) -> (SIMD8<T>, SIMD8<T>, SIMD8<T>, SIMD8<T>) {
                    (a, (a + b + e) / 2, (a - b + e) / 2, e)
                }
                let c0 = rows(tap(0), tap(3), tap(6)), c1 = rows(tap(1), tap(4), tap(7)), c2 = rows(tap(2), tap(5), tap(8))
                @inline(__always) func emit(_ i: Int, _ a: SIMD8<T>, _ b: SIMD8<T>, _ e: SIMD8<T>) {
                    let r = rows(a, b, e)
                    WinogradSIMD.store8(r.0, u + ((4 &* i) &* stride &+ first))
                    WinogradSIMD.store8(r.1, u + ((4 &* i &+ 1) &* stride &+ first))
                    WinogradSIMD.store8(r.2, u + ((4 &* i &+ 2) &* stride &+ first))
                    WinogradSIMD.store8(r.3, u + ((4 &* i &+ 3) &* stride &+ first))
                }
                emit(0, c0.0, c1.0, c2.0); emit(1, c0.1, c1.1, c2.1); emit(2, c0.2, c1.2, c2.2); emit(3, c0.3, c1.3, c2.3)
                first &+= 8
            }
            withUnsafeTemporaryAllocation(of: T.self, capacity: 12) { h in
                for index in first..<indices.upperBound {
                    let k = w + index &* 9
                    // G g: rows (g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2), per column j.
                    for j in 0..<3 {
                        let a = k[j], b = k[3 &+ j], e = k[6 &+ j]
                        h[j] = a; h[3 &+ j] = (a + b + e) / 2; h[6 &+ j] = (a - b + e) / 2; h[9 &+ j] = e
                    }
                    for i in 0..<4 {
                        let a = h[3 &* i], b = h[3 &* i &+ 1], e = h[3 &* i &+ 2]
                        u[(4 &* i) &* stride &+ index] = a
                        u[(4 &* i &+ 1) &* stride &+ index] = (a + b + e) / 2
                        u[(4 &* i &+ 2) &* stride &+ index] = (a - b + e) / 2
                        u[(4 &* i &+ 3) &* stride &+ index] = e
                    }
                }
            }
        }
    }

    /// dW [O, C, 3, 3] = Gᵀ dU G from dU [16, O, C].
    static func weightGradient<T: TensorScalar>(_ du: UnsafePointer<T>, outChannels: Int, channels: Int, into dw: UnsafeMutablePointer<T>) {
        let count = outChannels &* channels, stride = weightStride(outChannels, channels)
        Parallel.forEachChunk(count, grain: 4096) { _, indices in
            withUnsafeTemporaryAllocation(of: T.self, capacity: 12) { h in
                for index in indices {
                    @inline(__always) func d(_ i: Int, _ j: Int) -> T { du[(4 &* i &+ j) &* stride &+ index] }
                    // Gᵀ rows: (1, ½, ½, 0), (0, ½, -½, 0), (0, ½, ½, 1); first over i for each column j.
                    for j in 0..<4 {
                        let a = d(0, j), b = d(1, j), e = d(2, j), f = d(3, j)
                        h[j] = a + (b + e) / 2; h[4 &+ j] = (b - e) / 2; h[8 &+ j] = (b + e) / 2 + f
                    }
                    let out = dw + index &* 9
                    for i in 0..<3 {
                        let a = h[4 &* i], b = h[4 &* i &+ 1], e = h[4 &* i &+ 2], f = h[4 &* i &+ 3]
                        out[3 &* i] = a + (b + e) / 2; out[3 &* i &+ 1] = (b - e) / 2; out[3 &* i &+ 2] = (b + e) / 2 + f
                    }
                }
            }
        }
    }

    /// U [positions, O, C] of the weights w [O, C, 3, 3], or with `flipped` (4x4 tiles only)
    /// of each kernel turned by 180 degrees.
    func transformWeights<T: TensorScalar>(_ w: UnsafePointer<T>, flipped: Bool, into u: UnsafeMutablePointer<T>) {
        if tile == 2 {
            precondition(!flipped, "F(2x2) reads the flipped kernels' transform out of U (see convolve)")
            Self.weightTransform(w, outChannels: outChannels, channels: channels, into: u)
        } else {
            Self.weightTransform4(w, outChannels: outChannels, channels: channels, flipped: flipped, into: u)
        }
    }

    // MARK: passes

    /// dst [N, cout, H, W] = the convolution of src [N, cin, H, W] with transformed weights
    /// u [positions, cout, cin] (+ bias); with `adjoint`, u [positions, cin, cout] is read
    /// transposed (the input gradient convolves with the forward weights flipped and with
    /// their channels swapped). For 2x2 tiles u is then the transform of the forward weights
    /// themselves: flipping a 3x3 kernel reverses G's rows 0 and 3, so position (i, j) of the
    /// flipped kernel's transform is position (σi, σj) of U with σ = (3, 1, 2, 0). F(4x4)'s G
    /// has no such symmetry, so for 4x4 tiles u holds the transform of the flipped kernels
    /// (`transformWeights(flipped:)`).
    func convolve<T: TensorScalar>(_ src: UnsafePointer<T>, cin: Int, u: UnsafePointer<T>, cout: Int, adjoint: Bool = false,
                                   bias: UnsafePointer<T>?, into dst: UnsafeMutablePointer<T>) {
        let sigma = [3, 1, 2, 0], positions = positions
        forEachUnit { rows in
            let columns = rows.count * tilesW
            let blocks = transformScratch(cin, cout, unitRows: rowsPerUnit)
            withScratch(T.self, count: blocks + lineScratch) { scratch in
                let vStride = positionStride(cin, columns), mStride = positionStride(cout, columns)
                let v = scratch, m = scratch + positions * vStride, lines = scratch + blocks
                inputTransform(src, planes: cin, rows: rows, into: v, lines: lines)
                for k in 0..<positions {
                    let flippedK = adjoint && tile == 2 ? 4 * sigma[k / 4] + sigma[k % 4] : k
                    let weights = u + flippedK * Self.weightStride(cout, cin)
                    GEMM.run(transA: adjoint, m: cout, n: columns, k: cin, a: weights, lda: adjoint ? cout : cin,
                             b: v + k * vStride, ldb: columns, c: m + k * mStride, ldc: columns)
                }
                if tile == 2 {
                    outputTransform(m, planes: cout, rows: rows, bias: bias, into: dst)
                } else {
                    outputTransform4(m, planes: cout, rows: rows, bias: bias, into: dst)
                }
            }
        }
    }

    /// dU [positions, O, C] (blocks `weightStride` apart) = Σ dM_k V_kᵀ over all tiles. The units
    /// of tile rows are taken in order; within a unit the threads first transform disjoint
    /// planes of x and dy, then run the GEMMs of disjoint positions. So there are no per-thread
    /// partials to keep and sum (F(4x4)'s were 2 x 36 x 512 x 512 floats on the expert's last
    /// layers, the largest scratch of its training step), and the result does not depend on
    /// the thread count.
    func accumulateWeightGradient<T: TensorScalar>(_ x: UnsafePointer<T>, _ g: UnsafePointer<T>, into du: UnsafeMutablePointer<T>) {
        let (C, O) = (channels, outChannels), positions = positions
        withScratch(T.self, count: transformScratch(C, O, unitRows: gradientRowsPerUnit)) { scratch in
            for rows in Self.units(of: 0..<tileRows, most: gradientRowsPerUnit) {
                let first = rows.lowerBound == 0
                let columns = rows.count * tilesW
                let vStride = positionStride(C, columns), mStride = positionStride(O, columns)
                let v = scratch, dm = scratch + positions * vStride
                // Groups of planes, eight tasks per thread: the input and gradient transforms
                // differ in cost per plane, so equal plane counts per thread were not equal work.
                let groups = Swift.min(C + O, 8 * Parallel.threads)
                Parallel.forEachTask(groups) { group in
                    let planes = Parallel.chunkRange(group, of: C + O, chunks: groups)
                    let inputs = planes.clamped(to: 0..<C)
                    let grads = (planes.lowerBound - C..<planes.upperBound - C).clamped(to: 0..<O)
                    if !inputs.isEmpty {
                        withScratch(T.self, count: lineScratch) { lines in
                            inputTransform(x, planes: C, only: inputs, rows: rows, into: v, lines: lines)
                        }
                    }
                    if !grads.isEmpty {
                        if tile == 2 {
                            gradientTransform(g, planes: O, only: grads, rows: rows, into: dm)
                        } else {
                            gradientTransform4(g, planes: O, only: grads, rows: rows, into: dm)
                        }
                    }
                }
                Parallel.forEachTask(positions) { k in
                    GEMM.run(transB: true, m: O, n: C, k: columns, a: dm + k * mStride, lda: columns, b: v + k * vStride,
                             ldb: columns, beta: first ? 0 : 1, c: du + k * Self.weightStride(O, C), ldc: C)
                }
            }
        }
    }
}

/// Unaligned vector loads and stores for the transforms (generic, so that the float64 gradient
/// checks run the same code as float32 training).
enum WinogradSIMD {
    @inline(__always) static func load<V: SIMD>(_: V.Type, _ p: UnsafePointer<V.Scalar>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }
    @inline(__always) static func store<V: SIMD>(_ v: V, _ p: UnsafeMutablePointer<V.Scalar>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }
    @inline(__always) static func load8<T: TensorScalar>(_ p: UnsafePointer<T>) -> SIMD8<T> { load(SIMD8<T>.self, p) }
    @inline(__always) static func store8<T: TensorScalar>(_ v: SIMD8<T>, _ p: UnsafeMutablePointer<T>) { store(v, p) }
    /// The first `count` lanes from `p`, zeros after them (a row's last, partial tile).
    /// (Through a small buffer: setting lanes one by one compiled to a slow chain of inserts,
    /// and copyMemory to a call of memmove.)
    @inline(__always) static func load<V: SIMD>(_: V.Type, _ p: UnsafePointer<V.Scalar>, count: Int) -> V where V.Scalar: FloatingPoint {
        if count >= V.scalarCount { return load(V.self, p) }
        return withUnsafeTemporaryAllocation(of: V.Scalar.self, capacity: V.scalarCount) { buffer in
            let b = buffer.baseAddress!
            for lane in 0..<V.scalarCount { b[lane] = lane < count ? p[lane] : .zero }
            return load(V.self, UnsafePointer(b))
        }
    }
    /// Stores the first `count` lanes of `v` only.
    @inline(__always) static func store<V: SIMD>(_ v: V, _ p: UnsafeMutablePointer<V.Scalar>, count: Int) {
        if count >= V.scalarCount { return store(v, p) }
        withUnsafeTemporaryAllocation(of: V.Scalar.self, capacity: V.scalarCount) { buffer in
            let b = buffer.baseAddress!
            store(v, b)
            for lane in 0..<count { p[lane] = b[lane] }
        }
    }
}

/// Vectors whose even and odd lanes split into two vectors of half the width: a row of tiles
/// reads its columns two at a time, and writes them back interleaved.
protocol SIMDHalves: SIMD {
    associatedtype Half: SIMD where Half.Scalar == Scalar
    var evenHalf: Half { get set }
    var oddHalf: Half { get set }
}
extension SIMD32: SIMDHalves { typealias Half = SIMD16<Scalar> }
extension SIMD16: SIMDHalves { typealias Half = SIMD8<Scalar> }
extension SIMD8: SIMDHalves { typealias Half = SIMD4<Scalar> }
extension SIMD4: SIMDHalves { typealias Half = SIMD2<Scalar> }

/// Forward and backward of a 3x3 stride-1 padding-1 convolution by `WinogradPlan` with
/// `tile` x `tile` output tiles.
func winogradConvolution(_ x: Tensor, weight: Tensor, bias: Tensor?, geometry: ConvGeometry, tile: Int = 2,
                         unitColumns: Int? = nil) -> Tensor {
    let (n, o) = (x.shape[0], weight.shape[0])
    let plan = WinogradPlan(geometry: geometry, batch: n, outChannels: o, tile: tile, unitColumns: unitColumns)
    let out = Tensor(shape: [n, o, geometry.outH, geometry.outW], dtype: x.dtype, zeroed: false)
    let block = plan.weightBlock
    func forward<T: TensorScalar>(_: T.Type) {
        withScratch(T.self, count: block) { u in
            plan.transformWeights(weight.pointer(T.self), flipped: false, into: u)
            plan.convolve(x.pointer(T.self), cin: plan.channels, u: u, cout: o, bias: bias.map { UnsafePointer($0.pointer(T.self)) },
                          into: out.pointer(T.self))
        }
    }
    x.dtype == .float32 ? forward(Float.self) : forward(Double.self)
    return recordConvolution(out, x, weight: weight, bias: bias) { x, g, dx, dw in
        func backward<T: TensorScalar>(_: T.Type) {
            let (C, O) = (plan.channels, plan.outChannels)
            if let dx {
                withScratch(T.self, count: block) { u in
                    plan.transformWeights(weight.pointer(T.self), flipped: plan.tile == 4, into: u)
                    plan.convolve(g.pointer(T.self), cin: O, u: u, cout: C, adjoint: true, bias: nil, into: dx.pointer(T.self))
                }
            }
            if let dw {
                withScratch(T.self, count: block) { du in
                    plan.accumulateWeightGradient(x.pointer(T.self), g.pointer(T.self), into: du)
                    if plan.tile == 2 {
                        WinogradPlan.weightGradient(du, outChannels: O, channels: C, into: dw.pointer(T.self))
                    } else {
                        WinogradPlan.weightGradient4(du, outChannels: O, channels: C, into: dw.pointer(T.self))
                    }
                }
            }
        }
        g.dtype == .float32 ? backward(Float.self) : backward(Double.self)
    }
}
