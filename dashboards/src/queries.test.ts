import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzePromQL, namesInPattern, panelQueries, renderQuery, variableSelector } from './queries.js';

describe('renderQuery', () => {
  it('replaces Grafana variables in all their spellings, unset ones with the All regex', () => {
    assert.equal(
      renderQuery(
        // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's ${var} syntax, not a template
        'rate(x{a=~"$system", b=~"${destination}", c=~"${group:regex}", d=~"[[extra]]"}[$__rate_interval])',
        {
          rateInterval: '2m',
          variables: { system: 'kafka' },
        },
      ),
      'rate(x{a=~"kafka", b=~".*", c=~".*", d=~".*"}[2m])',
    );
    assert.equal(renderQuery('increase(x[$__range]) / $__interval'), 'increase(x[1h]) / 15s');
  });
});

describe('analyzePromQL', () => {
  it('names the metrics of vector selectors and exact __name__ matchers, not label names', () => {
    const analysis = analyzePromQL(
      'sum by (le, messaging_system) (rate(a_bucket{x="1"}[5m])) / on (messaging_system) group_left {__name__="b:c"} or {__name__=~"d|e"}',
    );
    assert.deepEqual(analysis.metrics, ['a_bucket', 'b:c']);
    assert.deepEqual(analysis.metricPatterns, ['d|e']);
    assert.deepEqual(analysis.errors, []);
  });

  it('lists the window of every matrix selector and subquery, not the subquery step', () => {
    assert.deepEqual(analyzePromQL('rate(a[5m]) + max_over_time(deriv(b[1m])[30m:15s])').ranges, [
      '5m',
      '30m',
      '1m',
    ]);
  });

  it('reports where a query stops parsing', () => {
    const { errors } = analyzePromQL('sum(rate(a[5m])');
    assert.ok(errors.length > 0);
    assert.deepEqual(analyzePromQL('a{b=}').errors.length > 0, true);
  });
});

describe('helpers', () => {
  it('reads the selector of a label_values variable query', () => {
    assert.equal(
      variableSelector('label_values({__name__=~"a|b", x=~"$y"}, z)'),
      '{__name__=~"a|b", x=~"$y"}',
    );
    assert.equal(variableSelector('label_values(messaging_system)'), undefined);
  });

  it('accepts only plain alternations as metric name lists', () => {
    assert.deepEqual(namesInPattern('a|b:c'), ['a', 'b:c']);
    assert.equal(namesInPattern('hoptrace_.*'), undefined);
  });

  it('collects the queries of panels, inside collapsed rows too', () => {
    const queries = panelQueries({
      uid: 'd',
      panels: [
        { id: 1, title: 'p', targets: [{ refId: 'A', expr: 'up', exemplar: true }] },
        {
          id: 2,
          type: 'row',
          panels: [{ id: 3, title: 'q', targets: [{ refId: 'B', expr: 'x', instant: true }] }],
        },
      ],
    });
    assert.deepEqual(
      queries.map((q) => [q.panelId, q.refId, q.expr, q.exemplar, q.instant]),
      [
        [1, 'A', 'up', true, false],
        [3, 'B', 'x', false, true],
      ],
    );
  });
});
