# Reference values for tests/stats/test_estimation.py, computed with R's survey package.
#
# Run from the repository root (needs r-base-core and r-cran-survey):
#   Rscript tests/stats/r/make_reference.R > tests/stats/fixtures/r_reference.json
#
# Design: svydesign(ids = ~1, strata = ~strata, probs = ~pi),
# options(survey.lonely.psu = "adjust"), domain by subset(); proportions by
# svyciprop(method = "beta") (Korn-Graubard), means by svymean + confint(df = degf(sub)).
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

one_case <- function(name, d, kind, level = 0.95) {
  des <- svydesign(ids = ~1, strata = ~strata, probs = ~pi, data = d)
  sub <- subset(des, domain)
  df <- degf(sub)
  if (kind == "proportion") {
    ci <- suppressWarnings(svyciprop(~y, sub, method = "beta", level = level))
    est <- as.numeric(ci)
    se <- sqrt(as.numeric(attr(ci, "var")))
    lims <- attr(ci, "ci")
  } else {
    m <- svymean(~y, sub)
    est <- coef(m)
    se <- SE(m)
    lims <- confint(m, df = df, level = level)
  }
  nd <- sum(d$domain)
  yd <- d$y[d$domain]
  bt <- if (kind == "proportion" && all(yd == round(yd))) {
    binom.test(sum(yd), nd, conf.level = level)$conf.int
  } else c(NA, NA)
  paste0(
    '{"name": "', name, '", "kind": "', kind, '", "level": ', scalar(level),
    ', "y": ', num(d$y), ', "pi": ', num(d$pi), ', "strata": ', str_arr(d$strata),
    ', "domain": ', lgl(d$domain),
    ', "estimate": ', scalar(est), ', "std_error": ', scalar(se),
    ', "ci_low": ', scalar(lims[1]), ', "ci_high": ', scalar(lims[2]),
    ', "df": ', scalar(df), ', "n": ', nd,
    ', "clopper_pearson": ', num(bt), "}"
  )
}

cases <- character(0)

# 1. Four strata with unequal pi, one stratum with a single unit (lonely PSU in the
#    full design), domain = everything.
set.seed(1)
d1 <- data.frame(
  strata = rep(c("a", "b", "c", "d"), c(5, 4, 1, 6)),
  pi = c(0.2, 0.5, 0.3, 0.9, 0.4, 0.25, 0.25, 0.6, 0.1, 1, 0.3, 0.35, 0.5, 0.15, 0.7, 0.2),
  y = c(1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1)
)
d1$domain <- TRUE
cases <- c(cases, one_case("lonely_stratum_full", d1, "proportion"))
cases <- c(cases, one_case("lonely_stratum_full_90", d1, "proportion", level = 0.9))

# 2. Domain that misses whole strata and has a single unit in one stratum.
d2 <- d1
d2$domain <- c(TRUE, TRUE, FALSE, TRUE, FALSE, FALSE, FALSE, FALSE, FALSE,
               TRUE, TRUE, FALSE, TRUE, TRUE, TRUE, FALSE)
cases <- c(cases, one_case("domain_misses_strata", d2, "proportion"))

# 3. Estimate exactly 0 in the domain (CI from R is NaN; the test uses Clopper-Pearson).
d3 <- d1
d3$y <- ifelse(d2$domain, 0, d1$y)
d3$domain <- d2$domain
cases <- c(cases, one_case("estimate_zero", d3, "proportion"))
d3b <- d1
d3b$y <- ifelse(d2$domain, 1, 0)
d3b$domain <- d2$domain
cases <- c(cases, one_case("estimate_one", d3b, "proportion"))

# 4. Larger random design: 12 caseworkers, 2-4 cases each, risk-weighted pi, domain =
#    one team, plus quality scores 1-3 for the mean.
set.seed(42)
nh <- sample(2:4, 12, replace = TRUE)
nh[7] <- 1  # a lonely caseworker
strata <- rep(sprintf("cw%02d", 1:12), nh)
n <- length(strata)
d4 <- data.frame(
  strata = strata,
  pi = round(runif(n, 0.05, 0.95), 4),
  y = rbinom(n, 1, 0.8),
  domain = rep(rep(c(TRUE, FALSE), c(7, 5)), nh)
)
cases <- c(cases, one_case("random_team", d4, "proportion"))
d4all <- d4
d4all$domain <- TRUE
cases <- c(cases, one_case("random_all", d4all, "proportion"))
d5 <- d4
d5$y <- sample(1:3, n, replace = TRUE)
cases <- c(cases, one_case("scores_team", d5, "mean"))
d5all <- d5
d5all$domain <- TRUE
cases <- c(cases, one_case("scores_all", d5all, "mean"))
cases <- c(cases, one_case("scores_all_80", d5all, "mean", level = 0.8))

# 5. Equal pi, one stratum: plain sample share, Korn-Graubard vs Clopper-Pearson.
d6 <- data.frame(strata = "s", pi = 0.1, y = c(rep(1, 17), rep(0, 3)), domain = TRUE)
cases <- c(cases, one_case("srs_one_stratum", d6, "proportion"))

# 6. Many strata, mostly 2 per stratum (the production situation), domain with a
#    stratum holding one domain unit of two.
set.seed(7)
H <- 30
strata <- rep(sprintf("h%02d", 1:H), each = 2)
d7 <- data.frame(
  strata = strata,
  pi = round(runif(2 * H, 0.02, 0.6), 5),
  y = rbinom(2 * H, 1, 0.9),
  domain = c(rep(TRUE, 41), rep(FALSE, 19))
)
cases <- c(cases, one_case("pairs", d7, "proportion"))

cat('{"generator": "tests/stats/r/make_reference.R", "r_version": "',
    R.version.string, '", "survey_version": "', as.character(packageVersion("survey")),
    '", "cases": [\n', paste(cases, collapse = ",\n"), "\n]}\n", sep = "")
