// Minimal typings for ml-logistic-regression 2.x (the package ships none).
declare module 'ml-logistic-regression' {
  import type { Matrix } from 'ml-matrix';

  interface TwoClassClassifier {
    /** P(label differs from the classifier's class) per row. */
    testScores(features: Matrix): number[];
  }

  interface LogisticRegressionJSON {
    name: 'LogisticRegression';
    numSteps: number;
    learningRate: number;
    numberClasses: number;
    classifiers: unknown[];
  }

  export default class LogisticRegression {
    constructor(options?: { numSteps?: number; learningRate?: number });
    numberClasses: number;
    classifiers: TwoClassClassifier[];
    train(features: Matrix, labels: Matrix): void;
    predict(features: Matrix): number[];
    toJSON(): LogisticRegressionJSON;
    static load(model: unknown): LogisticRegression;
  }
}
