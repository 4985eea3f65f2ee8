# Reference values for the results-over-periods statistics (tests/stats/test_results_stats.py),
# computed with R's survey package and stats::p.adjust.
#
# Run from the repository root (needs r-base-core and r-cran-survey):
#   Rscript tests/stats/r/make_reference_results.R > tests/stats/fixtures/r_reference_results.json
#
# * ratio: confint(svyratio(~y, ~x, sub), df = degf(sub)) with
#   svydesign(ids = ~1, strata = ~strata, weights = ~w), options(survey.lonely.psu = "adjust"),
#   sub = subset(des, domain); weights are non-response adjusted (1/pi * sampled/completed).
# * proportion with weights: svyciprop(method = "beta") on the same kind of design.
# * bh: p.adjust(p, method = "BH") (NA kept out of the family).
# * t_p: 2 * pt(-abs(diff / se), df) on the Welch df, the two-sided p-value of a change.
suppressMessages(library(survey))
options(survey.lonely.psu = "adjust")

num <- function(x) {
  x <- as.numeric(x)
  out <- ifelse(is.na(x), "null", sprintf("%.17g", x))
  paste0("[", paste(out, collapse = ", "), "]")
}
scalar <- function(x) {
  x <- as.numeric(x)[1]
  if (is.na(x)) "null" else sprintf("%.17g", x)
}
lgl <- function(x) paste0("[", paste(ifelse(x, "true", "false"), collapse = ", "), "]")
str_arr <- function(x) paste0("[", paste0('"', x, '"', collapse = ", "), "]")

ratio_case <- function(name, d, level = 0.95) {
  des <- svydesign(ids = ~1, strata = ~strata, weights = ~w, data = d)
  sub <- subset(des, domain)
  df <- degf(sub)
  r <- svyratio(~y, ~x, sub)
  lims <- confint(r, df = df, level = level)
  paste0(
    '{"name": "', name, '", "level": ', scalar(level),
    ', "y": ', num(d$y), ', "x": ', num(d$x), ', "pi": ', num(1 / d$w),
    ', "strata": ', str_arr(d$strata), ', "domain": ', lgl(d$domain),
    ', "estimate": ', scalar(coef(r)), ', "std_error": ', scalar(SE(r)),
    ', "ci_low": ', scalar(lims[1]), ', "ci_high": ', scalar(lims[2]),
    ', "df": ', scalar(df), ', "n": ', sum(d$domain), "}"
  )
}

prop_case <- function(name, d, level = 0.95) {
  des <- svydesign(ids = ~1, strata = ~strata, weights = ~w, data = d)
  sub <- subset(des, domain)
  ci <- suppressWarnings(svyciprop(~y, sub, method = "beta", level = level))
  lims <- attr(ci, "ci")
  paste0(
    '{"name": "', name, '", "level": ', scalar(level),
    ', "y": ', num(d$y), ', "pi": ', num(1 / d$w),
    ', "strata": ', str_arr(d$strata), ', "domain": ', lgl(d$domain),
    ', "estimate": ', scalar(as.numeric(ci)), ', "std_error": ', scalar(sqrt(attr(ci, "var"))),
    ', "ci_low": ', scalar(lims[1]), ', "ci_high": ', scalar(lims[2]),
    ', "df": ', scalar(degf(sub)), ', "n": ', sum(d$domain), "}"
  )
}

# A period design: two rounds, caseworker strata within each round, some reviews missing.
# Weights 1/pi * (sampled in stratum / completed in stratum); strata without any completed
# review drop out. The data frame holds the respondents only.
set.seed(11)
make_period <- function(n_cw, per_cw, rounds = c("r1", "r2")) {
  rows <- list()
  for (r in rounds) {
    for (c in seq_len(n_cw)) {
      k <- per_cw[(c - 1) %% length(per_cw) + 1]
      pi <- round(runif(k, 0.05, 0.9), 5)
      completed <- rbinom(k, 1, 0.85) == 1
      if (c == 2) completed[] <- TRUE
      if (c == 3) completed[] <- FALSE  # a stratum that drops out
      if (!any(completed)) next
      adj <- k / sum(completed)
      answered <- sample(0:3, k, replace = TRUE)
      in_order <- sapply(answered, function(a) rbinom(1, a, 0.8))
      rows[[length(rows) + 1]] <- data.frame(
        strata = paste0(r, "|cw", c),
        w = (1 / pi * adj)[completed],
        y = in_order[completed],
        x = answered[completed],
        unit = ifelse(c %% 2 == 0, "A", "B"),
        point = rbinom(k, 1, 0.75)[completed],
        stringsAsFactors = FALSE
      )
    }
  }
  do.call(rbind, rows)
}

ratios <- character(0)
props <- character(0)
p1 <- make_period(9, c(3, 2, 4, 1))
d <- p1; d$domain <- d$x > 0
ratios <- c(ratios, ratio_case("period_all", d))
ratios <- c(ratios, ratio_case("period_all_90", d, level = 0.9))
d <- p1; d$domain <- d$x > 0 & d$unit == "A"
ratios <- c(ratios, ratio_case("period_unit_a", d))
d <- p1; d$domain <- d$x > 0 & d$unit == "B"
ratios <- c(ratios, ratio_case("period_unit_b", d))
d <- p1; d$domain <- d$unit == "B"  # units with x = 0 inside the domain
ratios <- c(ratios, ratio_case("period_unit_b_with_zero_x", d))
d <- p1; d$domain <- TRUE
props <- c(props, prop_case("weighted_point_all", transform(d, y = point)))
d$domain <- d$unit == "A"
props <- c(props, prop_case("weighted_point_unit_a", transform(d, y = point)))

p2 <- make_period(25, c(3, 3, 2))
d <- p2; d$domain <- d$x > 0
ratios <- c(ratios, ratio_case("bigger_period", d))

# Benjamini-Hochberg on a family with ties and an NA
set.seed(3)
pv <- c(runif(12)^3, 0.01, 0.01, NA, 1, 0)
bh <- p.adjust(pv, method = "BH")
pv2 <- c(0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216)
bh2 <- p.adjust(pv2, method = "BH")

# two-sided t p-values of changes b - a between independent estimates, Welch df
a_est <- c(0.70, 0.80, 0.55, 0.90, 0.62)
a_se <- c(0.04, 0.05, 0.10, 0.02, 0.30)
a_df <- c(12, 40, 3, 7, 100)
b_est <- c(0.75, 0.68, 0.85, 0.90, 0.621)
b_se <- c(0.03, 0.06, 0.02, 0.05, 0.10)
b_df <- c(20, 9, 5, 33, 61)
diffs <- b_est - a_est
ses <- sqrt(a_se^2 + b_se^2)
dfs <- (a_se^2 + b_se^2)^2 / (a_se^4 / a_df + b_se^4 / b_df)
tp <- 2 * pt(-abs(diffs / ses), dfs)

cat('{"generator": "tests/stats/r/make_reference_results.R", "r_version": "',
    R.version.string, '", "survey_version": "', as.character(packageVersion("survey")),
    '",\n "ratio": [\n', paste(ratios, collapse = ",\n"),
    '\n],\n "proportion": [\n', paste(props, collapse = ",\n"),
    '\n],\n "bh": [{"p": ', num(pv), ', "adjusted": ', num(bh), '}, {"p": ', num(pv2),
    ', "adjusted": ', num(bh2), '}],\n "t_p": {"a_est": ', num(a_est), ', "a_se": ', num(a_se),
    ', "a_df": ', num(a_df), ', "b_est": ', num(b_est), ', "b_se": ', num(b_se),
    ', "b_df": ', num(b_df), ', "diff": ', num(diffs), ', "se": ', num(ses),
    ', "df": ', num(dfs), ', "p": ', num(tp), "}}\n", sep = "")
