internal import CSaddleCore

/// Dense linear algebra in Float64 through LAPACK (OpenBLAS's Fortran entry points).
///
/// LAPACK is column-major; the symmetric routines need no transposition, and the others
/// transpose on the way in and out.
public enum LAPACK {
    /// Eigenvalues (ascending) and orthonormal eigenvectors (the columns of `vectors`) of a
    /// symmetric matrix, by divide and conquer (dsyevd). Only the lower triangle is read.
    /// - Throws: `TensorError` when the matrix is not square; `.linearAlgebra` when LAPACK fails.
    public static func symmetricEigen(_ matrix: Tensor, computeVectors: Bool = true) throws
        -> (values: Tensor, vectors: Tensor?)
    {
        guard matrix.rank == 2, matrix.shape[0] == matrix.shape[1] else {
            throw TensorError.shapeMismatch(op: "symmetricEigen", shapes: [matrix.shape], reason: "the matrix must be square")
        }
        let blas = try BLAS.library()
        var n = Int32(matrix.shape[0])
        // Row-major lower triangle = column-major upper triangle: ask LAPACK for "U".
        var a = matrix.converted(to: .float64).detached
        a.prepareForMutation()
        var values = Tensor(uninitializedShape: [Int(n)], dtype: .float64)
        if n == 0 { return (values, computeVectors ? a : nil) }
        var jobz = CChar(UInt8(ascii: computeVectors ? "V" : "N"))
        var uplo = CChar(UInt8(ascii: "U"))
        var info: Int32 = 0
        var lwork: Int32 = -1
        var liwork: Int32 = -1
        var workQuery = 0.0
        var iworkQuery: Int32 = 0
        blas.dsyevd(&jobz, &uplo, &n, a.pointer(Double.self), &n, values.pointer(Double.self), &workQuery, &lwork, &iworkQuery, &liwork, &info, 1, 1)
        guard info == 0 else { throw TensorError.linearAlgebra(routine: "dsyevd", info: info, reason: "workspace query failed") }
        lwork = Int32(workQuery)
        liwork = iworkQuery
        var work = [Double](repeating: 0, count: Int(lwork))
        var iwork = [Int32](repeating: 0, count: Int(liwork))
        blas.dsyevd(&jobz, &uplo, &n, a.pointer(Double.self), &n, values.pointer(Double.self), &work, &lwork, &iwork, &liwork, &info, 1, 1)
        guard info == 0 else {
            throw TensorError.linearAlgebra(
                routine: "dsyevd", info: info,
                reason: info < 0 ? "argument \(-info) was invalid" : "the algorithm failed to converge")
        }
        // Column-major eigenvectors: row i of `a` holds eigenvector i; transpose to columns.
        return (values, computeVectors ? try a.transposed().detached : nil)
    }

    /// Solves A X = B for square A by LU with partial pivoting (dgesv). `rhs` may be a vector.
    /// - Throws: `TensorError` for mismatched shapes; `.linearAlgebra` when A is singular.
    public static func solve(_ matrix: Tensor, _ rhs: Tensor) throws -> Tensor {
        guard matrix.rank == 2, matrix.shape[0] == matrix.shape[1], rhs.rank >= 1, rhs.rank <= 2,
            rhs.shape[0] == matrix.shape[0]
        else {
            throw TensorError.shapeMismatch(op: "solve", shapes: [matrix.shape, rhs.shape], reason: "need A [n, n] and B [n] or [n, k]")
        }
        let blas = try BLAS.library()
        var n = Int32(matrix.shape[0])
        var nrhs = Int32(rhs.rank == 1 ? 1 : rhs.shape[1])
        if n == 0 { return rhs.converted(to: .float64).detached }
        var a = try matrix.converted(to: .float64).detached.transposed().detached
        var b = rhs.rank == 1 ? rhs.converted(to: .float64).detached : try rhs.converted(to: .float64).detached.transposed().detached
        a.prepareForMutation()
        b.prepareForMutation()
        var pivots = [Int32](repeating: 0, count: Int(n))
        var info: Int32 = 0
        blas.dgesv(&n, &nrhs, a.pointer(Double.self), &n, &pivots, b.pointer(Double.self), &n, &info)
        guard info == 0 else {
            throw TensorError.linearAlgebra(
                routine: "dgesv", info: info,
                reason: info > 0 ? "the matrix is singular (U[\(info - 1), \(info - 1)] is exactly zero)" : "argument \(-info) was invalid")
        }
        return rhs.rank == 1 ? b : try b.transposed().detached
    }

    /// An orthonormal basis of the column space of a tall matrix `[m, n]` (m >= n): the Q of
    /// its QR decomposition (dgeqrf, dorgqr), with column signs making R's diagonal positive.
    /// - Throws: `TensorError` for a wide matrix; `.linearAlgebra` when LAPACK fails.
    public static func orthonormalColumns(of matrix: Tensor) throws -> Tensor {
        guard matrix.rank == 2, matrix.shape[0] >= matrix.shape[1] else {
            throw TensorError.shapeMismatch(op: "orthonormalColumns", shapes: [matrix.shape], reason: "need a tall matrix [m, n], m >= n")
        }
        let blas = try BLAS.library()
        var m = Int32(matrix.shape[0])
        var n = Int32(matrix.shape[1])
        if n == 0 { return matrix.converted(to: .float64).detached }
        // Column-major copy of the matrix = row-major transpose.
        var a = try matrix.converted(to: .float64).detached.transposed().detached
        a.prepareForMutation()
        var tau = [Double](repeating: 0, count: Int(n))
        var info: Int32 = 0
        var query = 0.0
        var lwork: Int32 = -1
        blas.dgeqrf(&m, &n, a.pointer(Double.self), &m, &tau, &query, &lwork, &info)
        lwork = max(Int32(query), 1)
        var work = [Double](repeating: 0, count: Int(lwork))
        blas.dgeqrf(&m, &n, a.pointer(Double.self), &m, &tau, &work, &lwork, &info)
        guard info == 0 else { throw TensorError.linearAlgebra(routine: "dgeqrf", info: info, reason: "QR factorization failed") }
        let p = a.pointer(Double.self)
        let signs = (0..<Int(n)).map { j in p[j * Int(m) + j] < 0 ? -1.0 : 1.0 }
        var k = n
        lwork = -1
        blas.dorgqr(&m, &n, &k, p, &m, &tau, &query, &lwork, &info)
        lwork = max(Int32(query), 1)
        work = [Double](repeating: 0, count: Int(lwork))
        blas.dorgqr(&m, &n, &k, p, &m, &tau, &work, &lwork, &info)
        guard info == 0 else { throw TensorError.linearAlgebra(routine: "dorgqr", info: info, reason: "forming Q failed") }
        for j in 0..<Int(n) where signs[j] < 0 {
            for i in 0..<Int(m) { p[j * Int(m) + i] = -p[j * Int(m) + i] }
        }
        return try a.transposed().detached
    }

    /// Eigenvalues (ascending) and eigenvectors of a symmetric tridiagonal matrix with
    /// `diagonal` and `offDiagonal` (dstev); used by Lanczos.
    /// - Throws: `TensorError` for mismatched lengths; `.linearAlgebra` on failure.
    public static func tridiagonalEigen(diagonal: [Double], offDiagonal: [Double]) throws
        -> (values: [Double], vectors: [[Double]])
    {
        let count = diagonal.count
        guard offDiagonal.count == max(count - 1, 0) else {
            throw TensorError.invalidArgument(op: "tridiagonalEigen", reason: "\(diagonal.count) diagonal and \(offDiagonal.count) off-diagonal entries")
        }
        if count == 0 { return ([], []) }
        let blas = try BLAS.library()
        var n = Int32(count)
        var d = diagonal
        var e = offDiagonal + [0]
        var z = [Double](repeating: 0, count: count * count)
        var work = [Double](repeating: 0, count: max(1, 2 * count - 2))
        var jobz = CChar(UInt8(ascii: "V"))
        var info: Int32 = 0
        blas.dstev(&jobz, &n, &d, &e, &z, &n, &work, &info, 1)
        guard info == 0 else { throw TensorError.linearAlgebra(routine: "dstev", info: info, reason: "the QL iteration failed to converge") }
        let vectors = (0..<count).map { j in Array(z[(j * count)..<((j + 1) * count)]) }
        return (d, vectors)
    }
}
