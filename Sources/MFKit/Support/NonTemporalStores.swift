// Non-temporal stores need SSE2's streaming stores and a fence after them; without either
// module the ordinary-store loops are used.
#if arch(x86_64) && canImport(_Builtin_intrinsics) && canImport(Synchronization)
import _Builtin_intrinsics.intel
import Synchronization
#endif

/// Outputs of at least this many bytes (half an L3 cache) are written with non-temporal
/// (streaming) stores where the output is contiguous: they skip the read-for-ownership of
/// every cache line, so writing N bytes moves N bytes instead of 2N, and they do not evict
/// the inputs from the caches. Smaller outputs use ordinary stores (the caller is likely to
/// read them back from cache).
let streamingStoreBytes = 1 << 24

/// Orders this thread's non-temporal stores before everything after it (call once after a
/// worker's last streaming store, before the results are handed to another thread).
@inline(__always) func streamingStoreFence() {
    #if arch(x86_64) && canImport(_Builtin_intrinsics) && canImport(Synchronization)
    atomicMemoryFence(ordering: .sequentiallyConsistent)
    #endif
}

extension Double {
    @inline(__always)
    public static func storeSums(_ dst: UnsafeMutablePointer<Double>, _ base: Double, _ src: UnsafePointer<Double>,
                                 _ n: Int, streaming: Bool) {
        var j = 0
        #if arch(x86_64) && canImport(_Builtin_intrinsics) && canImport(Synchronization)
        if streaming {
            while j < n && Int(bitPattern: dst + j) & 15 != 0 { dst[j] = base + src[j]; j += 1 }
            let b = SIMD2<Double>(repeating: base)
            while j + 8 <= n {  // one 64-byte line per iteration
                let s = UnsafeRawPointer(src + j)
                _mm_stream_pd(dst + j, s.loadUnaligned(as: SIMD2<Double>.self) + b)
                _mm_stream_pd(dst + j + 2, s.loadUnaligned(fromByteOffset: 16, as: SIMD2<Double>.self) + b)
                _mm_stream_pd(dst + j + 4, s.loadUnaligned(fromByteOffset: 32, as: SIMD2<Double>.self) + b)
                _mm_stream_pd(dst + j + 6, s.loadUnaligned(fromByteOffset: 48, as: SIMD2<Double>.self) + b)
                j += 8
            }
            while j + 2 <= n {
                _mm_stream_pd(dst + j, UnsafeRawPointer(src + j).loadUnaligned(as: SIMD2<Double>.self) + b)
                j += 2
            }
        }
        #endif
        while j < n { dst[j] = base + src[j]; j += 1 }
    }

    @inline(__always)
    public static func streamCopy(_ dst: UnsafeMutablePointer<Double>, _ src: UnsafePointer<Double>, _ n: Int) {
        var j = 0
        #if arch(x86_64) && canImport(_Builtin_intrinsics) && canImport(Synchronization)
        while j < n && Int(bitPattern: dst + j) & 15 != 0 { dst[j] = src[j]; j += 1 }
        while j + 2 <= n {
            _mm_stream_pd(dst + j, UnsafeRawPointer(src + j).loadUnaligned(as: SIMD2<Double>.self))
            j += 2
        }
        #endif
        while j < n { dst[j] = src[j]; j += 1 }
    }
}

extension Float {
    @inline(__always)
    public static func storeSums(_ dst: UnsafeMutablePointer<Float>, _ base: Double, _ src: UnsafePointer<Double>,
                                 _ n: Int, streaming: Bool) {
        var j = 0
        #if arch(x86_64) && canImport(_Builtin_intrinsics) && canImport(Synchronization)
        if streaming {
            while j < n && Int(bitPattern: dst + j) & 15 != 0 { dst[j] = Float(base + src[j]); j += 1 }
            let b = SIMD2<Double>(repeating: base)
            while j + 4 <= n {
                let lo = _mm_cvtpd_ps(UnsafeRawPointer(src + j).loadUnaligned(as: SIMD2<Double>.self) + b)
                let hi = _mm_cvtpd_ps(UnsafeRawPointer(src + j + 2).loadUnaligned(as: SIMD2<Double>.self) + b)
                _mm_stream_ps(dst + j, _mm_movelh_ps(lo, hi))
                j += 4
            }
        }
        #endif
        while j < n { dst[j] = Float(base + src[j]); j += 1 }
    }

    @inline(__always)
    public static func streamCopy(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ n: Int) {
        var j = 0
        #if arch(x86_64) && canImport(_Builtin_intrinsics) && canImport(Synchronization)
        while j < n && Int(bitPattern: dst + j) & 15 != 0 { dst[j] = src[j]; j += 1 }
        while j + 4 <= n {
            _mm_stream_ps(dst + j, UnsafeRawPointer(src + j).loadUnaligned(as: SIMD4<Float>.self))
            j += 4
        }
        #endif
        while j < n { dst[j] = src[j]; j += 1 }
    }
}
