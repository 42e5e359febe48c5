//! [`UnaryOp`]: the named element-wise functions of the reference's array API (pure
//! float math; the block-level `map` is in [`crate::unary`]).

use num_traits::Float;

/// A unary element-wise function of the reference's array API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[allow(missing_docs)] // each variant is the function of the same name
pub enum UnaryOp {
    Exp,
    Expm1,
    Log,
    Log10,
    Log1p,
    Sqrt,
    Cbrt,
    Exponent,
    Significand,
    Neg,
    Sin,
    Sinpi,
    Cos,
    Cospi,
    Tan,
    Sec,
    Cot,
    Csc,
    Sinh,
    Cosh,
    Tanh,
    Coth,
    Sech,
    Csch,
    Asin,
    Acos,
    Atan,
    Acot,
    Asec,
    Acsc,
    Asinh,
    Acosh,
    Atanh,
    Acoth,
    Asech,
    Acsch,
    Sinc,
    Cosc,
}

impl UnaryOp {
    /// Every function, in the reference's order.
    pub const ALL: [UnaryOp; 38] = {
        use UnaryOp::*;
        [
            Exp,
            Expm1,
            Log,
            Log10,
            Log1p,
            Sqrt,
            Cbrt,
            Exponent,
            Significand,
            Neg,
            Sin,
            Sinpi,
            Cos,
            Cospi,
            Tan,
            Sec,
            Cot,
            Csc,
            Sinh,
            Cosh,
            Tanh,
            Coth,
            Sech,
            Csch,
            Asin,
            Acos,
            Atan,
            Acot,
            Asec,
            Acsc,
            Asinh,
            Acosh,
            Atanh,
            Acoth,
            Asech,
            Acsch,
            Sinc,
            Cosc,
        ]
    };

    /// The function's name as the reference spells it.
    pub fn name(self) -> &'static str {
        use UnaryOp::*;
        match self {
            Exp => "exp",
            Expm1 => "expm1",
            Log => "log",
            Log10 => "log10",
            Log1p => "log1p",
            Sqrt => "sqrt",
            Cbrt => "cbrt",
            Exponent => "exponent",
            Significand => "significand",
            Neg => "-",
            Sin => "sin",
            Sinpi => "sinpi",
            Cos => "cos",
            Cospi => "cospi",
            Tan => "tan",
            Sec => "sec",
            Cot => "cot",
            Csc => "csc",
            Sinh => "sinh",
            Cosh => "cosh",
            Tanh => "tanh",
            Coth => "coth",
            Sech => "sech",
            Csch => "csch",
            Asin => "asin",
            Acos => "acos",
            Atan => "atan",
            Acot => "acot",
            Asec => "asec",
            Acsc => "acsc",
            Asinh => "asinh",
            Acosh => "acosh",
            Atanh => "atanh",
            Acoth => "acoth",
            Asech => "asech",
            Acsch => "acsch",
            Sinc => "sinc",
            Cosc => "cosc",
        }
    }

    /// Applies the function to one value.
    ///
    /// ```
    /// use dagger_array::UnaryOp;
    /// assert_eq!(UnaryOp::Sinpi.apply(1.0f64), 0.0);
    /// assert_eq!(UnaryOp::Sinc.apply(0.0f64), 1.0);
    /// assert_eq!(UnaryOp::Exponent.apply(8.5f64), 3.0);
    /// assert_eq!(UnaryOp::Significand.apply(8.5f64), 1.0625);
    /// ```
    pub fn apply<F: Float>(self, x: F) -> F {
        use UnaryOp::*;
        let one = F::one();
        match self {
            Exp => x.exp(),
            Expm1 => x.exp_m1(),
            Log => x.ln(),
            Log10 => x.log10(),
            Log1p => x.ln_1p(),
            Sqrt => x.sqrt(),
            Cbrt => x.cbrt(),
            Exponent => exponent(x),
            Significand => significand(x),
            Neg => -x,
            Sin => x.sin(),
            Sinpi => sincospi(x).0,
            Cos => x.cos(),
            Cospi => sincospi(x).1,
            Tan => x.tan(),
            Sec => one / x.cos(),
            Cot => one / x.tan(),
            Csc => one / x.sin(),
            Sinh => x.sinh(),
            Cosh => x.cosh(),
            Tanh => x.tanh(),
            Coth => one / x.tanh(),
            Sech => one / x.cosh(),
            Csch => one / x.sinh(),
            Asin => x.asin(),
            Acos => x.acos(),
            Atan => x.atan(),
            Acot => (one / x).atan(),
            Asec => (one / x).acos(),
            Acsc => (one / x).asin(),
            Asinh => x.asinh(),
            Acosh => x.acosh(),
            Atanh => x.atanh(),
            Acoth => (one / x).atanh(),
            Asech => (one / x).acosh(),
            Acsch => (one / x).asinh(),
            Sinc => sinc(x),
            Cosc => cosc(x),
        }
    }

    /// Whether `f(0) == 0`, so a sparse block stays sparse under the function.
    pub fn preserves_zero(self) -> bool {
        self.apply(0.0f64) == 0.0
    }
}

/// `(sin(πx), cos(πx))`, exact at integers and half-integers: reduce to `x = k/2 + f` with
/// `|f| ≤ 1/4` and rotate by the quadrant `k mod 4`.
fn sincospi<F: Float>(x: F) -> (F, F) {
    if !x.is_finite() {
        return (F::nan(), F::nan());
    }
    let two = F::one() + F::one();
    let k = (x * two).round();
    let f = x - k / two;
    let pf = f * F::from(std::f64::consts::PI).unwrap_or_else(F::zero); // ok: π is representable in any float
    let (s, c) = (pf.sin(), pf.cos());
    let q = (k % (two * two) + two * two) % (two * two);
    let q = q.to_u8().unwrap_or(0); // ok: q is an integer in 0..4
    match q {
        0 => (s, c),
        1 => (c, -s),
        2 => (-s, -c),
        _ => (-c, s),
    }
}

/// Julia's normalized `sinc(x) = sin(πx)/(πx)`, 1 at 0.
fn sinc<F: Float>(x: F) -> F {
    let pi = F::from(std::f64::consts::PI).unwrap_or_else(F::zero); // ok: π is representable
    if x.abs() < F::from(1e-4).unwrap_or_else(F::epsilon) {
        // Taylor: 1 - (πx)²/6 is exact to the float's precision here.
        let y = pi * x;
        return F::one() - y * y / F::from(6.0).unwrap_or_else(F::one);
    }
    if x.is_infinite() {
        return F::zero();
    }
    sincospi(x).0 / (pi * x)
}

/// Julia's `cosc(x) = cos(πx)/x - sin(πx)/(πx²)`, the derivative of `sinc`, 0 at 0.
fn cosc<F: Float>(x: F) -> F {
    let pi = F::from(std::f64::consts::PI).unwrap_or_else(F::zero); // ok: π is representable
    if x.abs() < F::from(1e-4).unwrap_or_else(F::epsilon) {
        // Taylor: -(π²x)/3 + (π⁴x³)/30.
        let p2 = pi * pi;
        return -p2 * x / F::from(3.0).unwrap_or_else(F::one)
            + p2 * p2 * x * x * x / F::from(30.0).unwrap_or_else(F::one);
    }
    if x.is_infinite() {
        return F::zero();
    }
    let (s, c) = sincospi(x);
    c / x - s / (pi * x * x)
}

/// The binary exponent: `floor(log2(|x|))` computed exactly from the bits. Julia raises for
/// 0, ±Inf and NaN; element-wise here they give NaN.
fn exponent<F: Float>(x: F) -> F {
    if x == F::zero() || !x.is_finite() {
        return F::nan();
    }
    let (mant, exp, _) = x.integer_decode();
    let top = 63 - mant.leading_zeros() as i32;
    F::from(exp as i32 + top).unwrap_or_else(F::nan)
}

/// The significand in `[1, 2)` with the sign of `x`: `x / 2^exponent(x)`; 0 and non-finite
/// values are returned as they are.
fn significand<F: Float>(x: F) -> F {
    if x == F::zero() || !x.is_finite() {
        return x;
    }
    let e = exponent(x);
    x / (F::one() + F::one()).powf(e)
}
