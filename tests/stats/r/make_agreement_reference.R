# Reference values for tests/stats/test_agreement.py: Cohen's kappa from R's psych
# package and Gwet's AC1 and percent agreement from Gwet's irrCAC package.
#
# Run from the repository root:
#   Rscript tests/stats/r/make_agreement_reference.R > tests/stats/fixtures/agreement_reference.json
#
# Needs r-base-core and r-cran-psych (Debian packages) and irrCAC 1.0. irrCAC is not in
# Debian and CRAN was unreachable where the fixture was made, so it was installed from
# the CRAN mirror on GitHub, which holds the unmodified CRAN sources:
#   git clone https://github.com/cran/irrCAC && R CMD INSTALL irrCAC   # 1.0, commit 41b40b4
#
# Calls:
#   kappa: psych::cohen.kappa(<q x q table of counts>, alpha = 1 - level) (unweighted
#          row): estimate $kappa, variance $var.kappa, interval $confid[1, c(1, 3)]
#          (normal interval, clipped to [-1, 1] by psych).
#   AC1:   irrCAC::gwet.ac1.raw(<n x 2 raw ratings>, conflev = level) (N = Inf, no
#          finite-population correction), once with the observed categories
#          ("ac1") and once with categ.labels = the table's full scale ("ac1_scale").
#   PA:    irrCAC::pa.coeff.raw(<n x 2 raw ratings>, conflev = level).
# irrCAC rounds what it reports (coefficient and standard error to 5 decimals, the
# interval to 3, inside a string). To get its computation at full precision, its own
# functions are run unchanged in an environment where `round` is the identity and
# `paste0` prints numbers with 17 significant digits; the interval is parsed back from
# that string.
#
# Tables: 24 random 2x2 and 24 random 3x3 tables of counts (n between 2 and 80, cell
# probabilities from a Dirichlet with extra weight on the diagonal, some categories left
# unused), levels 0.95, 0.90 or 0.99; a table is drawn again if only one category
# occurs in it. The raw answers are the table expanded in a random order. Degenerate
# cases (one category, a single case) follow under "degenerate" with what R returns.
suppressMessages(library(psych))
suppressMessages(library(irrCAC))

exact <- function(f) {
  env <- new.env(parent = asNamespace("irrCAC"))
  env$round <- function(x, digits = 0) x
  env$paste0 <- function(...) {
    parts <- lapply(list(...), function(x) if (is.numeric(x)) sprintf("%.17g", x) else x)
    do.call(base::paste0, parts)
  }
  environment(f) <- env
  f
}
ac1_raw <- exact(irrCAC::gwet.ac1.raw)
pa_raw <- exact(irrCAC::pa.coeff.raw)

scalar <- function(x) {
  x <- suppressWarnings(as.numeric(x))[1]
  if (is.na(x)) "null" else sprintf("%.17g", x)
}
str_arr <- function(x) paste0("[", paste0('"', x, '"', collapse = ", "), "]")
int_mat <- function(m) {
  rows <- apply(m, 1, function(r) paste0("[", paste(r, collapse = ", "), "]"))
  paste0("[", paste(rows, collapse = ", "), "]")
}
interval <- function(s) {
  s <- gsub("[()]", "", as.character(s))
  suppressWarnings(as.numeric(strsplit(s, ",")[[1]]))
}
irr_json <- function(res) {
  est <- res$est
  ci <- interval(est$conf.int)
  paste0('{"estimate": ', scalar(est$coeff.val), ', "std_error": ', scalar(est$coeff.se),
         ', "ci_low": ', scalar(ci[1]), ', "ci_high": ', scalar(ci[2]), "}")
}

one_case <- function(name, tab, level) {
  q <- nrow(tab)
  labels <- LETTERS[1:q]
  # row i, column j of tab: first answer labels[i], second answer labels[j]
  a <- rep(rep(labels, each = q), times = as.vector(t(tab)))
  b <- rep(rep(labels, times = q), times = as.vector(t(tab)))
  ord <- sample.int(length(a))
  a <- a[ord]
  b <- b[ord]
  ratings <- data.frame(r1 = a, r2 = b, stringsAsFactors = FALSE)
  dimnames(tab) <- list(labels, labels)
  ck <- suppressWarnings(cohen.kappa(tab, alpha = 1 - level))
  kappa <- paste0('{"estimate": ', scalar(ck$kappa), ', "std_error": ', scalar(sqrt(ck$var.kappa)),
                  ', "ci_low": ', scalar(ck$confid[1, 1]), ', "ci_high": ', scalar(ck$confid[1, 3]), "}")
  ac1 <- irr_json(suppressWarnings(ac1_raw(ratings, conflev = level)))
  ac1s <- irr_json(suppressWarnings(ac1_raw(ratings, categ.labels = labels, conflev = level)))
  pa <- irr_json(suppressWarnings(pa_raw(ratings, conflev = level)))
  paste0('{"name": "', name, '", "level": ', scalar(level), ', "n": ', length(a),
         ', "categories": ', str_arr(labels), ', "table": ', int_mat(tab),
         ', "a": ', str_arr(a), ', "b": ', str_arr(b),
         ', "kappa": ', kappa, ', "ac1": ', ac1, ', "ac1_scale": ', ac1s,
         ', "percent_agreement": ', pa, "}")
}

random_table <- function(q) {
  repeat {
    n <- sample(c(2:9, 10:80), 1, prob = c(rep(1, 8), rep(0.4, 71)))
    alpha <- matrix(runif(q * q, 0.2, 1.5), q, q)
    diag(alpha) <- diag(alpha) + runif(1, 0, 6)
    if (q == 3 && runif(1) < 0.25) alpha[3, ] <- alpha[, 3] <- 0.0001  # scale step unused
    g <- rgamma(q * q, shape = as.vector(alpha))
    p <- g / sum(g)
    cells <- sample.int(q * q, n, replace = TRUE, prob = p)
    tab <- matrix(tabulate(cells, q * q), q, q)
    if (sum(rowSums(tab) + colSums(tab) > 0) >= 2) return(tab)
  }
}

set.seed(20261202)
cases <- character(0)
levels <- c(0.95, 0.95, 0.95, 0.9, 0.99)
for (q in c(2, 3)) {
  for (k in 1:24) {
    cases <- c(cases, one_case(sprintf("random_%dx%d_%02d", q, q, k), random_table(q),
                               levels[(k - 1) %% length(levels) + 1]))
  }
}

degenerate <- c(
  one_case("one_category", matrix(c(5, 0, 0, 0), 2, 2), 0.95),
  one_case("single_disagreement", matrix(c(0, 0, 1, 0), 2, 2), 0.95),
  one_case("single_agreement", matrix(c(1, 0, 0, 0), 2, 2), 0.95),
  one_case("perfect_two_categories", matrix(c(4, 0, 0, 3), 2, 2), 0.95)
)

cat('{"generator": "tests/stats/r/make_agreement_reference.R", "r_version": "',
    R.version.string, '", "psych_version": "', as.character(packageVersion("psych")),
    '", "irrCAC_version": "', as.character(packageVersion("irrCAC")),
    '", "cases": [\n', paste(cases, collapse = ",\n"),
    '\n], "degenerate": [\n', paste(degenerate, collapse = ",\n"), "\n]}\n", sep = "")
