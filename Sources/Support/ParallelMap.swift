import Dispatch
import Foundation

/// Runs `body` over `0..<count` on up to `workers` threads and returns the results in index
/// order, so that parallel work still gives deterministic output.
public func parallelMap<T>(_ count: Int, workers: Int, _ body: (Int) -> T) -> [T] {
    guard count > 0 else { return [] }
    var results = [T?](repeating: nil, count: count)
    let lock = NSLock()
    if workers <= 1 || count == 1 {
        for index in 0..<count { results[index] = body(index) }
    } else {
        // Hand out indices from a shared counter so that slow items do not hold up a stripe.
        var nextIndex = 0
        DispatchQueue.concurrentPerform(iterations: min(workers, count)) { _ in
            while true {
                lock.lock()
                let index = nextIndex
                nextIndex += 1
                lock.unlock()
                guard index < count else { return }
                let value = body(index)
                lock.lock()
                results[index] = value
                lock.unlock()
            }
        }
    }
    return results.map { $0! }
}
