/* C ABI tests of the buffered Toeplitz functions (mfkit_blt_*): results against direct sums
 * of the coefficients and the inverse's defining identity, streams against the dense matrix,
 * the optimizer's loss against its closed form, and error paths (status, message, outputs
 * left untouched). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "check.h"

static mfkit_array vec64(double *data, int64_t n) {
    mfkit_array a = {data, MFKIT_FLOAT64, 1, {n}, {sizeof(double)}};
    return a;
}

static int close_rel(double a, double b, double tol) { return fabs(a - b) <= tol * fabs(b); }

static double bd[3] = {0.8, 0.99, 0.3}, os[3] = {0.2, 0.05, 0.3};

/* Coefficients, materialize, canonical order and the inverse (c * c_inv = delta). */
static void basics(void) {
    mfkit_array b = vec64(bd, 3), o = vec64(os, 3);
    double c[40], m[16];
    mfkit_array ca = vec64(c, 40);
    EXPECT_STATUS(mfkit_blt_toeplitz_coefs(&b, &o, &ca), MFKIT_OK);
    EXPECT(c[0] == 1 && close_rel(c[1], 0.55, 1e-15));
    EXPECT(close_rel(c[2], 0.2 * 0.8 + 0.05 * 0.99 + 0.3 * 0.3, 1e-15));
    mfkit_array ma = {m, MFKIT_FLOAT64, 2, {4, 4}, {4 * sizeof(double), sizeof(double)}};
    EXPECT_STATUS(mfkit_blt_materialize(&b, &o, &ma), MFKIT_OK);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) EXPECT(m[i * 4 + j] == (i >= j ? c[i - j] : 0));

    double sb[3], so[3];
    mfkit_array sba = vec64(sb, 3), soa = vec64(so, 3);
    EXPECT_STATUS(mfkit_blt_canonicalize(&b, &o, &sba, &soa), MFKIT_OK);
    EXPECT(sb[0] == 0.99 && sb[1] == 0.8 && sb[2] == 0.3 && so[0] == 0.05 && so[1] == 0.2);

    double ib[3], io[3], ic[40];
    mfkit_array iba = vec64(ib, 3), ioa = vec64(io, 3), ica = vec64(ic, 40);
    EXPECT_STATUS(mfkit_blt_inverse(&b, &o, 0, &iba, &ioa), MFKIT_OK);
    EXPECT_STATUS(mfkit_blt_toeplitz_coefs(&iba, &ioa, &ica), MFKIT_OK);
    for (int k = 0; k < 40; k++) {
        double s = 0;
        for (int j = 0; j <= k; j++) s += c[j] * ic[k - j];
        CHECK(fabs(s - (k == 0)) < 1e-14, "(c * c_inv)[%d] = %g", k, s);
    }
    double score = 0, gap = 0;
    EXPECT_STATUS(mfkit_blt_pillutla_score(&b, &o, &score), MFKIT_OK);
    EXPECT(close_rel(score, 0.25 + 0.05 / 0.99 + 1.0, 1e-15));
    EXPECT_STATUS(mfkit_blt_min_buf_decay_gap(&b, &gap), MFKIT_OK);
    EXPECT(close_rel(gap, 0.19, 1e-13));

    /* The pair's scales reproduce the strategy from its and its inverse's decays. */
    double w[3], wh[3];
    mfkit_array wa = vec64(w, 3), wha = vec64(wh, 3);
    EXPECT_STATUS(mfkit_blt_pair_from_theta_pair(&sba, &iba, &wa, &wha), MFKIT_OK);
    for (int j = 0; j < 3; j++) EXPECT(close_rel(w[j], so[j], 1e-12) && close_rel(wh[j], io[j], 1e-12));

    double rb[4], ro[4], limit = 1.0;
    mfkit_array rba = vec64(rb, 4), roa = vec64(ro, 4);
    EXPECT_STATUS(mfkit_blt_from_rational_approx(4, 0.999, &limit, 1.6, -1, &rba, &roa), MFKIT_OK);
    EXPECT(rb[0] <= 0.999 && rb[0] > rb[1] && rb[3] > 0 && ro[0] > 0);
}

/* Closed forms against direct sums, and their gradients against central differences. */
static void closed_forms(void) {
    double ib[3], io[3];
    mfkit_array b = vec64(bd, 3), o = vec64(os, 3), iba = vec64(ib, 3), ioa = vec64(io, 3);
    EXPECT_STATUS(mfkit_blt_inverse(&b, &o, 0, &iba, &ioa), MFKIT_OK);
    enum { N = 2000 };
    static double c[N];
    mfkit_array ca = vec64(c, N);
    EXPECT_STATUS(mfkit_blt_toeplitz_coefs(&iba, &ioa, &ca), MFKIT_OK);
    double prefix = 0, direct = 0, err = 0, gb[3], go[3];
    for (int t = 0; t < N; t++) { prefix += c[t]; direct += prefix * prefix; }
    mfkit_array gba = vec64(gb, 3), goa = vec64(go, 3);
    EXPECT_STATUS(mfkit_blt_max_error(&iba, &ioa, N, &err, &gba, &goa), MFKIT_OK);
    CHECK(close_rel(err, direct, 1e-11), "max_error %.17g vs direct %.17g", err, direct);
    for (int j = 0; j < 3; j++) {
        double h = 1e-6 * io[j], up = 0, down = 0, keep = io[j];
        io[j] = keep + h;
        mfkit_blt_max_error(&iba, &ioa, N, &up, NULL, NULL);
        io[j] = keep - h;
        mfkit_blt_max_error(&iba, &ioa, N, &down, NULL, NULL);
        io[j] = keep;
        CHECK(close_rel(go[j], (up - down) / (2 * h), 1e-6), "d/d omega_%d: %g vs %g", j, go[j], (up - down) / (2 * h));
    }
    double sens = 0, loss = 0, closed = 0, lim = 0, limloss = 0;
    EXPECT_STATUS(mfkit_blt_sensitivity_squared(&b, &o, N, &sens, NULL, NULL), MFKIT_OK);
    EXPECT_STATUS(mfkit_blt_max_loss(&b, &o, N, &loss, NULL, NULL), MFKIT_OK);
    CHECK(close_rel(loss, sens * err, 1e-12), "max_loss %.17g vs %.17g", loss, sens * err);
    EXPECT_STATUS(mfkit_blt_loss(N, 1, NULL, MFKIT_BLT_ERROR_MAX, 1, &b, &o, 0, &closed), MFKIT_OK);
    EXPECT(close_rel(closed, loss, 1e-14));
    EXPECT_STATUS(mfkit_blt_limit_max_error(&iba, &ioa, &lim, NULL, NULL), MFKIT_OK);
    EXPECT_STATUS(mfkit_blt_limit_max_loss(&b, &o, &limloss, NULL, NULL), MFKIT_OK);
    EXPECT(lim > 0 && limloss > 0 && N * limloss <= loss);

    double a[2] = {1.0, 2.0}, r[2] = {1.0, 0.5}, g[2], dg[2];
    mfkit_array aa = vec64(a, 2), ra = vec64(r, 2), ga = vec64(g, 2), dga = vec64(dg, 2);
    EXPECT_STATUS(mfkit_blt_geometric_sum(&aa, &ra, 4, &ga, &dga), MFKIT_OK);
    EXPECT(g[0] == 4 && g[1] == 3.75 && dg[0] == 6 && dg[1] == 2 * (1 + 2 * 0.5 + 3 * 0.25));

    double err_mean = 0, sens_ms = 0, pen[9];
    EXPECT_STATUS(mfkit_blt_loss_error(100, 10, NULL, MFKIT_BLT_ERROR_MEAN, 0, &iba, &ioa, &err_mean), MFKIT_OK);
    EXPECT_STATUS(mfkit_blt_loss_sensitivity(100, 10, NULL, MFKIT_BLT_ERROR_MEAN, 0, &b, &o, &sens_ms), MFKIT_OK);
    EXPECT(err_mean > 0 && sens_ms > sens);
    mfkit_array pa = vec64(pen, 9);
    EXPECT_STATUS(mfkit_blt_penalties(&b, &o, &iba, &ioa, 1.0, 1e-12, &pa), MFKIT_OK);
    EXPECT(close_rel(pen[1], -(log(0.8) + log(0.99) + log(0.3)), 1e-14));
    /* Zero multipliers drop every penalty (this BLT's Pillutla score is > 1: that penalty is NaN). */
    double pl = 0, zeros[9] = {0};
    mfkit_array za = vec64(zeros, 9);
    EXPECT_STATUS(mfkit_blt_penalized_loss(N, 1, NULL, MFKIT_BLT_ERROR_MAX, 1, 1e-8, &za, 1.0, 1e-12, &b, &o, &iba,
                                           &ioa, 0, &pl), MFKIT_OK);
    EXPECT(close_rel(pl, loss, 1e-14));
    EXPECT(isnan(pen[6]));
}

/* The noise stream C^{-1} z in float32, in place, against the inverse's coefficients. */
static void streams(void) {
    mfkit_array b = vec64(bd, 3), o = vec64(os, 3);
    mfkit_streaming_matrix *inv = NULL;
    EXPECT_STATUS(mfkit_blt_streaming_matrix(&b, &o, 1, &inv), MFKIT_OK);
    double ib[3], io[3], ic[8];
    mfkit_array iba = vec64(ib, 3), ioa = vec64(io, 3), ica = vec64(ic, 8);
    mfkit_blt_inverse(&b, &o, 0, &iba, &ioa);
    mfkit_blt_toeplitz_coefs(&iba, &ioa, &ica);
    float z[8][2] = {{1, 2}};
    mfkit_array za = {z, MFKIT_FLOAT32, 2, {8, 2}, {2 * sizeof(float), sizeof(float)}};
    EXPECT_STATUS(mfkit_sm_multiply_array(inv, &za, &za), MFKIT_OK);
    for (int t = 0; t < 8; t++) CHECK(fabs(z[t][0] - ic[t]) < 1e-6 && fabs(z[t][1] - 2 * ic[t]) < 1e-6, "t=%d", t);
    mfkit_sm_free(inv);
}

/* Optimization: the chosen BLT's loss, and the callback stops a run. */
static int stop_after_three(void *user, int64_t step, double loss, double grad_norm) {
    (void)loss; (void)grad_norm;
    *(int64_t *)user = step;
    return step >= 2;
}

static void optimization(void) {
    double ob[4], oo[4], loss = 0, value = 0, objective = -1, gnorm = -1;
    int64_t d = -1, last = -1, steps = -1, evals = -1;
    mfkit_stop_reason stop = -1;
    mfkit_array oba = vec64(ob, 4), ooa = vec64(oo, 4);
    int64_t single = 1;   /* NULL would allow ceil(n / min_sep) participations */
    EXPECT_STATUS(mfkit_blt_optimize(10000, 1, &single, MFKIT_BLT_ERROR_MAX, 1, 4, 1.01, 600, 0, 0, NULL, NULL, &oba,
                                     &ooa, &d, &steps, &evals, &objective, &gnorm, &stop), MFKIT_OK);
    EXPECT(d >= 1 && d <= 4);
    mfkit_array rb = vec64(ob, d), ro = vec64(oo, d);
    EXPECT_STATUS(mfkit_blt_max_loss(&rb, &ro, 10000, &value, NULL, NULL), MFKIT_OK);
    double bound = 1 + log(10000.0) / 3.14159265358979323846;
    CHECK(sqrt(value) < 1.05 * bound, "root loss %g vs bound %g", sqrt(value), bound);
    /* the chosen run's report: without tolerances a run ends by a stall (not convergence) or
     * the steps; its objective is the normalized penalized loss at the result */
    CHECK((stop == MFKIT_STOP_LINE_SEARCH || stop == MFKIT_STOP_MAX_STEPS) && steps > 0 && evals >= steps,
          "optimize: stop %d steps %lld evaluations %lld", stop, (long long)steps, (long long)evals);
    double ib[4], io[4], pen = 0, normal = pow(1 + log(10000.0) / 3.14159265358979323846, 2) + 1;
    mfkit_array iba = vec64(ib, d), ioa = vec64(io, d);
    EXPECT_STATUS(mfkit_blt_inverse(&rb, &ro, 0, &iba, &ioa), MFKIT_OK);
    EXPECT_STATUS(mfkit_blt_penalized_loss(10000, 1, &single, MFKIT_BLT_ERROR_MAX, 1, 1e-8, NULL, 1.0, 1e-12, &rb, &ro,
                                           &iba, &ioa, 1, &pen), MFKIT_OK);
    CHECK(close_rel(objective, pen, 1e-9) && fabs(objective - value / normal) < 1e-6 * objective,
          "objective %.15g, penalized loss %.15g, loss / normalization %.15g", objective, pen, value / normal);
    /* the tolerances end runs early, reported as convergence */
    EXPECT_STATUS(mfkit_blt_optimize(10000, 1, &single, MFKIT_BLT_ERROR_MAX, 1, 4, 1.01, 600, 0, 1e-6, NULL, NULL, &oba,
                                     &ooa, &d, &steps, NULL, NULL, NULL, &stop), MFKIT_OK);
    EXPECT(stop == MFKIT_STOP_LOSS_TOLERANCE && steps > 0);
    mfkit_array b2 = vec64(ob, 2), o2 = vec64(oo, 2);
    EXPECT_STATUS(mfkit_blt_optimize_loss(1000, 1, NULL, MFKIT_BLT_ERROR_MAX, 1, 1e-8, NULL, 1.0, 1e-12, 2, NULL, NULL,
                                          100, 0, 0, stop_after_three, &last, &b2, &o2, &loss, &steps, NULL, NULL, NULL,
                                          &stop), MFKIT_OK);
    EXPECT(last == 2 && loss > 0 && stop == MFKIT_STOP_CALLBACK && steps == 3);
    EXPECT_STATUS(mfkit_blt_optimize_loss(1000, 1, NULL, MFKIT_BLT_ERROR_MAX, 1, 1e-8, NULL, 1.0, 1e-12, 2, NULL, NULL,
                                          4, 0, 0, NULL, NULL, &b2, &o2, &loss, &steps, NULL, NULL, NULL, &stop), MFKIT_OK);
    EXPECT(stop == MFKIT_STOP_MAX_STEPS && steps == 4);
    EXPECT_STATUS(mfkit_blt_optimize_loss(1000, 1, NULL, MFKIT_BLT_ERROR_MAX, 1, 1e-8, NULL, 1.0, 1e-12, 2, NULL, NULL,
                                          600, 1e-3, 0, NULL, NULL, &b2, &o2, &loss, &steps, NULL, &objective, &gnorm,
                                          &stop), MFKIT_OK);
    EXPECT(stop == MFKIT_STOP_GRADIENT_TOLERANCE && steps > 0 && gnorm > 0);
    /* no buffers: the identity, nothing to optimize (one evaluation, converged); its loss is n */
    mfkit_array b0 = vec64(ob, 0), o0 = vec64(oo, 0);
    EXPECT_STATUS(mfkit_blt_optimize_loss(1000, 1, NULL, MFKIT_BLT_ERROR_MAX, 1, 1e-8, NULL, 1.0, 1e-12, 0, NULL, NULL,
                                          600, 0, 0, NULL, NULL, &b0, &o0, &loss, &steps, &evals, NULL, &gnorm, &stop),
                  MFKIT_OK);
    EXPECT(loss == 1000 && steps == 0 && evals == 1 && gnorm == 0 && stop == MFKIT_STOP_GRADIENT_TOLERANCE);
}

/* Error paths: status, message, and outputs untouched. */
static void errors(void) {
    double b2[2] = {0.9, 0.5}, o1[1] = {0.1}, out[2] = {7, 7}, value = 7;
    mfkit_array b = vec64(b2, 2), o = vec64(o1, 1), outa = vec64(out, 2);
    EXPECT_STATUS(mfkit_blt_toeplitz_coefs(&b, &o, &outa), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT(strstr(mfkit_last_error(), "mfkit_blt_toeplitz_coefs: buf_decay and output_scale must have the same length"));
    EXPECT(out[0] == 7 && out[1] == 7);
    mfkit_array bb = vec64(bd, 3), oo = vec64(os, 3);
    EXPECT_STATUS(mfkit_blt_max_error(&bb, &oo, 2.5, &value, NULL, NULL), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT(strstr(mfkit_last_error(), "n must be an integer >= 0") && value == 7);
    EXPECT_STATUS(mfkit_blt_max_error(&bb, &oo, 10, NULL, NULL, NULL), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mfkit_blt_max_error(NULL, &oo, 10, &value, NULL, NULL), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mfkit_blt_inverse(&bb, &oo, 0, &outa, &outa), MFKIT_ERR_SHAPE);
    EXPECT(out[0] == 7 && out[1] == 7);
    double cb[2] = {0.5, 0.4}, co[2] = {1.0, -1.0}, ib[2], io[2];
    mfkit_array cba = vec64(cb, 2), coa = vec64(co, 2), iba = vec64(ib, 2), ioa = vec64(io, 2);
    EXPECT_STATUS(mfkit_blt_inverse(&cba, &coa, 0, &iba, &ioa), MFKIT_ERR_NUMERICAL);
    EXPECT(strstr(mfkit_last_error(), "complex"));
    EXPECT_STATUS(mfkit_blt_loss(10, 1, NULL, 9, 0, &bb, &oo, 0, &value), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mfkit_blt_loss(0, 1, NULL, MFKIT_BLT_ERROR_MAX, 1, &bb, &oo, 0, &value), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mfkit_blt_from_rational_approx(0, 1.0, NULL, 1.6, -1, &outa, &outa), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT(strstr(mfkit_last_error(), "num_buffers must be >= 1"));
    int64_t d = 0;
    double big[16], bigo[16];
    mfkit_array ba = vec64(big, 16), boa = vec64(bigo, 16);
    EXPECT_STATUS(mfkit_blt_optimize(100, 1, NULL, MFKIT_BLT_ERROR_MAX, 0, 16, 1.01, 10, 0, 0, NULL, NULL, &ba, &boa, &d,
                                     NULL, NULL, NULL, NULL, NULL), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT(d == 0 && value == 7);
    int64_t steps = 7;
    EXPECT_STATUS(mfkit_blt_optimize(100, 1, NULL, MFKIT_BLT_ERROR_MAX, 0, 3, 1.01, 10, 0, -1, NULL, NULL, &ba, &boa, &d,
                                     &steps, NULL, NULL, NULL, NULL), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT(strstr(mfkit_last_error(), "ftol") && d == 0 && steps == 7);
    double ob2[2] = {7, 7}, oo2[2] = {7, 7};
    mfkit_array ob2a = vec64(ob2, 2), oo2a = vec64(oo2, 2);
    EXPECT_STATUS(mfkit_blt_optimize_loss(100, 1, NULL, MFKIT_BLT_ERROR_MAX, 1, 1e-8, NULL, 1.0, 1e-12, 2, NULL, NULL,
                                          10, 0, 0, NULL, NULL, &ob2a, &oo2a, NULL, &steps, NULL, NULL, NULL, NULL),
                  MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT(strstr(mfkit_last_error(), "loss is a null pointer") && ob2[0] == 7 && oo2[1] == 7 && steps == 7);
    mfkit_streaming_matrix *h = NULL;
    EXPECT_STATUS(mfkit_blt_streaming_matrix(&b, &o, 0, &h), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT(h == NULL);
}

int main(void) {
    basics();
    closed_forms();
    streams();
    optimization();
    errors();
    if (failures) fprintf(stderr, "%d failures\n", failures);
    return failures != 0;
}
