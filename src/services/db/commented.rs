//! A connection that ends each statement with its sqlcommenter comment
//! ([`instrument::sql_comment`]): what the app's pages and workers run through.
//!
//! SeaORM has no hook that may change a statement before it is sent, so the comment is
//! added by a connection wrapped around the pool, and around each transaction begun on
//! it — every statement sent through either carries it. Statements run on the bare
//! pool (start-up, the seeder, the lab's experiments, EXPLAIN) are not commented.

use std::future::Future;
use std::pin::Pin;

use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, ExecResult, IsolationLevel,
    QueryResult, Statement, StreamTrait, TransactionError, TransactionOptions, TransactionSession,
    TransactionTrait,
};

use crate::base::instrument::{self, sql_comment};

/// The app's pool, commenting every statement.
pub type Db = Commented<DatabaseConnection>;

/// `C` (a pool or a transaction), commenting every statement sent through it.
#[derive(Clone, Debug)]
pub struct Commented<C> {
    inner: C,
}

impl<C> Commented<C> {
    pub fn new(inner: C) -> Self {
        Self { inner }
    }

    /// The connection itself: statements sent through it go uncommented.
    pub fn inner(&self) -> &C {
        &self.inner
    }
}

impl From<DatabaseConnection> for Db {
    fn from(pool: DatabaseConnection) -> Self {
        Self::new(pool)
    }
}

impl Db {
    /// Whether the database answers (`/healthz`).
    pub async fn ping(&self) -> Result<(), DbErr> {
        self.inner.ping().await
    }
}

/// `statement` with the comment for where it is sent from, if there is one.
fn commented(mut statement: Statement) -> Statement {
    if let Some(comment) = instrument::sql_comment_now() {
        statement.sql = sql_comment::appended(&statement.sql, &comment);
    }
    statement
}

#[async_trait::async_trait]
impl<C: ConnectionTrait + Send> ConnectionTrait for Commented<C> {
    fn get_database_backend(&self) -> DbBackend {
        self.inner.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.inner.execute_raw(commented(stmt)).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        match instrument::sql_comment_now() {
            Some(comment) => {
                let sql = sql_comment::appended(sql, &comment);
                self.inner.execute_unprepared(&sql).await
            }
            None => self.inner.execute_unprepared(sql).await,
        }
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.inner.query_one_raw(commented(stmt)).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.inner.query_all_raw(commented(stmt)).await
    }

    fn support_returning(&self) -> bool {
        self.inner.support_returning()
    }
}

impl<C: StreamTrait> StreamTrait for Commented<C> {
    type Stream<'a>
        = C::Stream<'a>
    where
        Self: 'a;

    fn get_database_backend(&self) -> DbBackend {
        self.inner.get_database_backend()
    }

    fn stream_raw<'a>(
        &'a self,
        stmt: Statement,
    ) -> Pin<Box<dyn Future<Output = Result<Self::Stream<'a>, DbErr>> + 'a + Send>> {
        self.inner.stream_raw(commented(stmt))
    }
}

/// Each transaction begun on a commented connection is commented too.
#[async_trait::async_trait]
impl<C> TransactionTrait for Commented<C>
where
    C: TransactionTrait + Send,
    C::Transaction: Sync,
{
    type Transaction = Commented<C::Transaction>;

    async fn begin(&self) -> Result<Self::Transaction, DbErr> {
        Ok(Commented::new(self.inner.begin().await?))
    }

    async fn begin_with_config(
        &self,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<Self::Transaction, DbErr> {
        let transaction = self
            .inner
            .begin_with_config(isolation_level, access_mode)
            .await?;
        Ok(Commented::new(transaction))
    }

    async fn begin_with_options(
        &self,
        options: TransactionOptions,
    ) -> Result<Self::Transaction, DbErr> {
        Ok(Commented::new(
            self.inner.begin_with_options(options).await?,
        ))
    }

    async fn transaction<F, T, E>(&self, callback: F) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c Self::Transaction,
            ) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>>
            + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        let transaction = self.begin().await.map_err(TransactionError::Connection)?;
        run(transaction, callback).await
    }

    async fn transaction_with_config<F, T, E>(
        &self,
        callback: F,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c Self::Transaction,
            ) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>>
            + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        let transaction = self
            .begin_with_config(isolation_level, access_mode)
            .await
            .map_err(TransactionError::Connection)?;
        run(transaction, callback).await
    }
}

/// Runs `callback` in `transaction`: committed when it succeeds, rolled back when not.
async fn run<X, F, T, E>(transaction: X, callback: F) -> Result<T, TransactionError<E>>
where
    X: TransactionSession + Send,
    F: for<'c> FnOnce(&'c X) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>> + Send,
    E: std::fmt::Display + std::fmt::Debug + Send,
{
    match callback(&transaction).await {
        Ok(output) => {
            transaction
                .commit()
                .await
                .map_err(TransactionError::Connection)?;
            Ok(output)
        }
        Err(error) => {
            transaction
                .rollback()
                .await
                .map_err(TransactionError::Connection)?;
            Err(TransactionError::Transaction(error))
        }
    }
}

#[async_trait::async_trait]
impl<C: TransactionSession + Send> TransactionSession for Commented<C> {
    async fn commit(self) -> Result<(), DbErr> {
        self.inner.commit().await
    }

    async fn rollback(self) -> Result<(), DbErr> {
        self.inner.rollback().await
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectOptions, Database};

    use super::*;

    async fn one_table() -> Db {
        let mut options = ConnectOptions::new("sqlite::memory:");
        options.max_connections(1).sqlx_logging(false);
        let db = Database::connect(options)
            .await
            .expect("an in-memory database");
        db.execute_unprepared("CREATE TABLE t (n INTEGER)")
            .await
            .expect("a table");
        Db::new(db)
    }

    async fn rows(db: &Db) -> usize {
        db.query_all_raw(Statement::from_string(DbBackend::Sqlite, "SELECT n FROM t"))
            .await
            .expect("a read")
            .len()
    }

    #[tokio::test]
    async fn a_transaction_through_the_wrapper_commits_on_ok_and_rolls_back_on_err() {
        let db = one_table().await;
        let kept: Result<(), TransactionError<DbErr>> = db
            .transaction(|txn| {
                Box::pin(async move {
                    txn.execute_unprepared("INSERT INTO t VALUES (1)").await?;
                    Ok(())
                })
            })
            .await;
        assert!(kept.is_ok(), "{kept:?}");
        let undone: Result<(), TransactionError<DbErr>> = db
            .transaction(|txn| {
                Box::pin(async move {
                    txn.execute_unprepared("INSERT INTO t VALUES (2)").await?;
                    Err(DbErr::Custom("changed my mind".to_owned()))
                })
            })
            .await;
        assert!(matches!(undone, Err(TransactionError::Transaction(_))));
        assert_eq!(rows(&db).await, 1, "the first kept, the second rolled back");
    }
}
