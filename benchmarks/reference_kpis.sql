-- The reference: every KPI of a period for All + every region in one plain DuckDB statement,
-- written as an analyst would write it, over the same processed parquet (benchmarks/bench_engine.py
-- fills in {dir}, {start}, {T}, {begin}, {days}, {months}). Money in DECIMAL(18,2), sums in
-- DECIMAL(38,2); "All" through GROUPING SETS. Same definitions as docs/engine.md.
WITH
inv AS (
    SELECT invoice_id, customer_id, CAST(invoice_date AS DATE) AS invoice_date,
           CAST(due_date AS DATE) AS due_date, CAST(amount AS DECIMAL(18,2)) AS amount, region
    FROM read_parquet('{dir}/invoices.parquet')
),
pay AS (
    SELECT payment_id, invoice_id, customer_id, CAST(payment_date AS DATE) AS payment_date,
           CAST(amount AS DECIMAL(18,2)) AS amount
    FROM read_parquet('{dir}/payments.parquet')
    WHERE CAST(payment_date AS DATE) <= DATE '{T}'
),
cust AS (
    SELECT customer_id, any_value(customer_name) AS customer_name, any_value(region) AS region,
           any_value(CAST(credit_limit AS DECIMAL(18,2))) AS credit_limit
    FROM read_parquet('{dir}/customers.parquet') GROUP BY customer_id
),
applied AS (
    SELECT p.*, i.amount AS invoice_amount,
           SUM(p.amount) OVER (PARTITION BY p.invoice_id ORDER BY p.payment_date, p.payment_id
                               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running
    FROM pay p JOIN inv i USING (invoice_id)
),
per_invoice AS (
    SELECT invoice_id, SUM(amount) AS paid,
           SUM(amount) FILTER (WHERE payment_date <= DATE '{begin}') AS paid_begin,
           MIN(payment_date) FILTER (WHERE running >= invoice_amount) AS paid_date
    FROM applied GROUP BY invoice_id
),
pos AS (
    SELECT i.*, COALESCE(pi.paid, 0) AS paid, COALESCE(pi.paid_begin, 0) AS paid_begin,
           pi.paid_date,
           GREATEST(i.amount - COALESCE(pi.paid, 0), 0) AS open_amount,
           GREATEST(COALESCE(pi.paid, 0) - i.amount, 0) AS credit_amount,
           CASE WHEN i.amount - COALESCE(pi.paid, 0) > 0 AND i.due_date < DATE '{T}'
                THEN DATE '{T}' - i.due_date ELSE 0 END AS days_past_due
    FROM inv i LEFT JOIN per_invoice pi USING (invoice_id)
    WHERE i.invoice_date <= DATE '{T}'
),
unapplied AS (
    SELECT p.*, c.region FROM pay p LEFT JOIN cust c USING (customer_id)
    WHERE p.invoice_id IS NULL OR p.invoice_id NOT IN (SELECT invoice_id FROM inv)
),
cash AS (
    SELECT COALESCE(i.region, NULL) AS region, p.amount, p.payment_date FROM pay p
    JOIN inv i USING (invoice_id)
    UNION ALL SELECT region, amount, payment_date FROM unapplied
),
receivables AS (
    SELECT COALESCE(region, '~null') AS region, GROUPING(region) AS is_all,
           SUM(amount) FILTER (WHERE invoice_date >= DATE '{start}') AS credit_sales,
           SUM(open_amount) AS open_ar,
           SUM(GREATEST(amount - paid_begin, 0)) FILTER (WHERE invoice_date <= DATE '{begin}')
               AS open_ar_begin,
           SUM(open_amount) FILTER (WHERE due_date < DATE '{T}') AS overdue_ar,
           COUNT(*) FILTER (WHERE open_amount > 0 AND due_date < DATE '{T}') AS overdue_invoices,
           SUM(open_amount) FILTER (WHERE days_past_due = 0) AS aging_current,
           SUM(open_amount) FILTER (WHERE days_past_due BETWEEN 1 AND 30) AS aging_1_30,
           SUM(open_amount) FILTER (WHERE days_past_due BETWEEN 31 AND 60) AS aging_31_60,
           SUM(open_amount) FILTER (WHERE days_past_due BETWEEN 61 AND 90) AS aging_61_90,
           SUM(open_amount) FILTER (WHERE days_past_due BETWEEN 91 AND 120) AS aging_91_120,
           SUM(open_amount) FILTER (WHERE days_past_due > 120) AS aging_120,
           AVG(GREATEST(paid_date - due_date, 0))
               FILTER (WHERE paid_date BETWEEN DATE '{start}' AND DATE '{T}') AS average_days_late,
           COUNT(*) FILTER (WHERE due_date <= DATE '{T}' AND paid >= amount) * 100.0
               / NULLIF(COUNT(*) FILTER (WHERE due_date <= DATE '{T}'), 0)
               AS payment_completion_rate_count,
           SUM(amount) FILTER (WHERE due_date <= DATE '{T}' AND paid >= amount) * 100.0
               / NULLIF(SUM(amount) FILTER (WHERE due_date <= DATE '{T}'), 0)
               AS payment_completion_rate_amount,
           SUM(LEAST(paid, amount)) * 100.0 / NULLIF(SUM(amount), 0) AS paid_to_billed_rate,
           SUM(credit_amount) AS credit_balances
    FROM pos GROUP BY GROUPING SETS ((region), ())
),
collections AS (
    SELECT COALESCE(region, '~null') AS region, GROUPING(region) AS is_all,
           SUM(amount) FILTER (WHERE payment_date >= DATE '{start}') AS collections
    FROM cash GROUP BY GROUPING SETS ((region), ())
),
by_customer AS (
    SELECT COALESCE(p.region, '~null') AS region, GROUPING(p.region) AS is_all, p.customer_id,
           SUM(p.open_amount) AS pending,
           SUM(p.open_amount) FILTER (WHERE p.due_date < DATE '{T}') AS overdue
    FROM pos p GROUP BY GROUPING SETS ((p.region, p.customer_id), (p.customer_id))
),
over_limit AS (
    SELECT b.region, b.is_all, COUNT(*) FILTER (WHERE b.pending > c.credit_limit) AS n
    FROM by_customer b JOIN cust c USING (customer_id) GROUP BY ALL
),
top_pending AS (
    SELECT region, is_all, list({{'customer_id': customer_id, 'customer_name': customer_name,
                                  'pending': pending, 'overdue': overdue}}
                                 ORDER BY pending DESC, customer_id) AS top
    FROM (SELECT b.*, c.customer_name, row_number() OVER (PARTITION BY b.region, b.is_all
                                   ORDER BY b.pending DESC, b.customer_id) AS rn
          FROM by_customer b LEFT JOIN cust c USING (customer_id) WHERE b.pending > 0)
    WHERE rn <= 10 GROUP BY ALL
),
months AS (
    SELECT COALESCE(region, '~null') AS region, GROUPING(region) AS is_all,
           CAST(date_trunc('month', invoice_date) AS DATE) AS month, SUM(amount) AS sales
    FROM pos GROUP BY GROUPING SETS ((region, month), (month))
),
countback AS (
    SELECT m.region, m.is_all,
           (DATE '{T}' - m.month + 1)
           - (LEAST(m.month + INTERVAL 1 MONTH - INTERVAL 1 DAY, DATE '{T}')::DATE - m.month + 1)
             * (1 - (r.open_ar - (m.consumed - m.sales)) / m.sales) AS countback_dso
    FROM (SELECT *, SUM(sales) OVER (PARTITION BY region, is_all ORDER BY month DESC) AS consumed
          FROM months) m
    JOIN receivables r USING (region, is_all)
    WHERE m.consumed >= r.open_ar AND m.consumed - m.sales < r.open_ar
),
commissions AS (
    SELECT COALESCE(i.region, '~null') AS region, GROUPING(i.region) AS is_all,
           SUM(CAST(c.commission_amount AS DECIMAL(18,2))) FILTER (
               WHERE CAST(c.accrual_date AS DATE) <= DATE '{T}' AND NOT (COALESCE(c.is_settled, false)
                 AND (c.settlement_date IS NULL OR CAST(c.settlement_date AS DATE) <= DATE '{T}')))
               AS total_accrued_commissions,
           SUM(CAST(c.commission_amount AS DECIMAL(18,2))) FILTER (
               WHERE c.is_settled AND CAST(c.settlement_date AS DATE)
                     BETWEEN DATE '{start}' AND DATE '{T}') AS commissions_paid_mtd,
           SUM(CAST(c.commission_amount AS DECIMAL(18,2))) FILTER (
               WHERE CAST(c.accrual_date AS DATE) BETWEEN DATE '{start}' AND DATE '{T}')
               AS commissions_earned
    FROM read_parquet('{dir}/commissions.parquet') c LEFT JOIN inv i USING (invoice_id)
    GROUP BY GROUPING SETS ((i.region), ())
)
SELECT r.region, r.is_all, r.credit_sales, co.collections, r.open_ar, r.open_ar_begin,
       r.open_ar - r.overdue_ar AS current_ar, r.overdue_ar, r.overdue_invoices,
       r.open_ar / NULLIF(r.credit_sales, 0) * {days} AS dso, cb.countback_dso,
       (r.open_ar - r.overdue_ar) / NULLIF(r.credit_sales, 0) * {days} AS best_possible_dso,
       r.overdue_ar / NULLIF(r.credit_sales, 0) * {days} AS average_days_delinquent,
       (r.open_ar_begin + r.credit_sales / {months} - r.open_ar) * 100.0
           / NULLIF(r.open_ar_begin + r.credit_sales / {months} - (r.open_ar - r.overdue_ar), 0)
           AS cei,
       r.credit_sales / NULLIF((r.open_ar_begin + r.open_ar) / 2, 0) AS ar_turnover,
       r.credit_sales / NULLIF((r.open_ar_begin + r.open_ar) / 2, 0) * 365 / {days}
           AS ar_turnover_annualised,
       ol.n AS customers_over_credit_limit,
       r.aging_current, r.aging_1_30, r.aging_31_60, r.aging_61_90, r.aging_91_120, r.aging_120,
       r.average_days_late, r.payment_completion_rate_count, r.payment_completion_rate_amount,
       r.paid_to_billed_rate, tp.top AS top_pending_customers,
       cm.total_accrued_commissions, cm.commissions_paid_mtd,
       cm.commissions_earned * 100.0 / NULLIF(r.credit_sales, 0) AS average_commission_rate
FROM receivables r
LEFT JOIN collections co USING (region, is_all)
LEFT JOIN countback cb USING (region, is_all)
LEFT JOIN over_limit ol USING (region, is_all)
LEFT JOIN top_pending tp USING (region, is_all)
LEFT JOIN commissions cm USING (region, is_all)
ORDER BY r.is_all DESC, r.region
