//! Unit enums of options that users name (`--combine auto`, `loss = "mae"`): one list of
//! variants and names gives each its `name()` and its `FromStr`, whose unknown name is an
//! [`crate::Error::InvalidConfig`] of the option's key listing every name.

/// `option_names!(Type, "key", { Variant => "name", … })`: `Type::NAMES`, `Type::name()` and
/// `FromStr for Type`.
macro_rules! option_names {
    ($ty:ident, $key:literal, { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every name, in the order of the variants.
            pub const NAMES: &'static [&'static str] = &[$($name),+];

            /// The name, as written in flags and configuration files.
            pub fn name(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)+
                }
            }
        }

        impl std::str::FromStr for $ty {
            type Err = crate::error::Error;

            /// Parses one of [`Self::NAMES`].
            ///
            /// # Errors
            /// Any other name, as [`crate::error::Error::InvalidConfig`] of the option's key.
            fn from_str(text: &str) -> crate::error::Result<$ty> {
                match text {
                    $($name => Ok($ty::$variant),)+
                    other => Err(crate::error::Error::config(
                        $key,
                        format!("'{other}' is not one of {}", Self::NAMES.join(", ")),
                    )),
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    /// Every name parses to a variant whose name it is, and an unknown one is refused naming
    /// the key and every name.
    fn round_trip<T: FromStr<Err = crate::Error> + Copy>(
        names: &[&str],
        name: fn(T) -> &'static str,
        key: &str,
    ) {
        for n in names {
            let v: T = n.parse().unwrap_or_else(|e| panic!("{n}: {e}"));
            assert_eq!(name(v), *n);
        }
        let e = "bogus".parse::<T>().err().unwrap().to_string();
        let want = format!("'bogus' is not one of {}", names.join(", "));
        assert!(e.contains(key) && e.contains(&want), "{e}");
    }

    #[test]
    fn every_option_name_parses_back_and_an_unknown_one_lists_them() {
        use crate::backtest::{Refit as Folds, TrainWindow};
        use crate::config::{search::Select, Combine, PerSeries, Refit, Strategy};
        use crate::engine::Loss;
        use crate::scale::ScalerScope;
        use crate::train::Sampling;
        round_trip::<Strategy>(Strategy::NAMES, Strategy::name, "strategy");
        round_trip::<Refit>(Refit::NAMES, Refit::name, "refit");
        round_trip::<PerSeries>(PerSeries::NAMES, PerSeries::name, "per_series");
        round_trip::<Combine>(Combine::NAMES, Combine::name, "combine");
        round_trip::<Select>(Select::NAMES, Select::name, "select");
        round_trip::<Folds>(Folds::NAMES, Folds::name, "refit");
        round_trip::<TrainWindow>(TrainWindow::NAMES, TrainWindow::name, "window");
        round_trip::<Loss>(Loss::NAMES, Loss::name, "loss");
        round_trip::<ScalerScope>(ScalerScope::NAMES, ScalerScope::name, "scaler-scope");
        round_trip::<Sampling>(Sampling::NAMES, Sampling::name, "sampling");
        assert_eq!(Refit::NAMES, &["none", "val", "all"]);
        assert_eq!(Sampling::NAMES, &["windows", "per-series"]);
    }
}
