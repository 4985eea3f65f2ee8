"""Feedback to caseworkers: releases, comment threads, follow-up actions, notice preferences

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 15:50:55.270562

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('plan_feedback_settings',
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('involvement', sa.String(length=12), nullable=False),
    sa.Column('followup_allowance', sa.Integer(), nullable=False),
    sa.CheckConstraint("involvement IN ('none', 'view', 'acknowledge', 'comment')", name=op.f('ck_plan_feedback_settings_involvement')),
    sa.CheckConstraint('followup_allowance >= 0', name=op.f('ck_plan_feedback_settings_followup_allowance')),
    sa.ForeignKeyConstraint(['plan_id'], ['supervision_plans.id'], name=op.f('fk_plan_feedback_settings_plan_id_supervision_plans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('plan_id', name=op.f('pk_plan_feedback_settings'))
    )
    op.create_table('notice_preferences',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('weekly_digest', sa.Boolean(), nullable=False),
    sa.Column('last_digest_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notice_preferences_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_notice_preferences'))
    )
    op.create_table('pending_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('digested_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_pending_notices_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_notices'))
    )
    with op.batch_alter_table('pending_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pending_notices_digested_at'), ['digested_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_pending_notices_user_id'), ['user_id'], unique=False)

    op.create_table('feedback_releases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('caseworker_id', sa.Integer(), nullable=False),
    sa.Column('released_at', sa.DateTime(), nullable=False),
    sa.Column('released_by_name', sa.String(length=80), nullable=False),
    sa.Column('review_completed_at', sa.DateTime(), nullable=True),
    sa.Column('internal_point_ids', sa.JSON(), nullable=False),
    sa.Column('overall_note_internal', sa.Boolean(), nullable=False),
    sa.Column('seen_at', sa.DateTime(), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(), nullable=True),
    sa.Column('acknowledged_by_name', sa.String(length=80), nullable=True),
    sa.Column('last_reminder_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['caseworker_id'], ['caseworkers.id'], name=op.f('fk_feedback_releases_caseworker_id_caseworkers')),
    sa.ForeignKeyConstraint(['review_id'], ['case_reviews.id'], name=op.f('fk_feedback_releases_review_id_case_reviews'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_feedback_releases_round_id_rounds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_releases')),
    sa.UniqueConstraint('review_id', name=op.f('uq_feedback_releases_review_id'))
    )
    with op.batch_alter_table('feedback_releases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_releases_caseworker_id'), ['caseworker_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_releases_round_id'), ['round_id'], unique=False)

    op.create_table('followup_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('caseworker_id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=True),
    sa.Column('review_id', sa.Integer(), nullable=True),
    sa.Column('control_point_id', sa.Integer(), nullable=True),
    sa.Column('case_ref', sa.String(length=60), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('owner', sa.String(length=12), nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_on', sa.Date(), nullable=False),
    sa.Column('created_by_name', sa.String(length=80), nullable=False),
    sa.Column('done_at', sa.DateTime(), nullable=True),
    sa.Column('done_by_name', sa.String(length=80), nullable=True),
    sa.Column('done_note', sa.Text(), nullable=False),
    sa.Column('approved_at', sa.DateTime(), nullable=True),
    sa.Column('approved_by_name', sa.String(length=80), nullable=True),
    sa.Column('reopen_note', sa.Text(), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('last_reminder_on', sa.Date(), nullable=True),
    sa.CheckConstraint("owner IN ('caseworker', 'leader')", name=op.f('ck_followup_actions_owner')),
    sa.CheckConstraint("status IN ('open', 'done', 'approved', 'cancelled')", name=op.f('ck_followup_actions_status')),
    sa.ForeignKeyConstraint(['caseworker_id'], ['caseworkers.id'], name=op.f('fk_followup_actions_caseworker_id_caseworkers')),
    sa.ForeignKeyConstraint(['control_point_id'], ['control_points.id'], name=op.f('fk_followup_actions_control_point_id_control_points')),
    sa.ForeignKeyConstraint(['owner_user_id'], ['users.id'], name=op.f('fk_followup_actions_owner_user_id_users')),
    sa.ForeignKeyConstraint(['review_id'], ['case_reviews.id'], name=op.f('fk_followup_actions_review_id_case_reviews'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_followup_actions_round_id_rounds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followup_actions'))
    )
    with op.batch_alter_table('followup_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_followup_actions_caseworker_id'), ['caseworker_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_followup_actions_control_point_id'), ['control_point_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_followup_actions_review_id'), ['review_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_followup_actions_round_id'), ['round_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_followup_actions_status'), ['status'], unique=False)

    op.create_table('feedback_comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('author_name', sa.String(length=200), nullable=False),
    sa.Column('author_kind', sa.String(length=12), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_feedback_comments_author_id_users')),
    sa.ForeignKeyConstraint(['release_id'], ['feedback_releases.id'], name=op.f('fk_feedback_comments_release_id_feedback_releases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_comments'))
    )
    with op.batch_alter_table('feedback_comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_comments_release_id'), ['release_id'], unique=False)



def downgrade():
    with op.batch_alter_table('feedback_comments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_comments_release_id'))

    op.drop_table('feedback_comments')
    with op.batch_alter_table('followup_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_followup_actions_status'))
        batch_op.drop_index(batch_op.f('ix_followup_actions_round_id'))
        batch_op.drop_index(batch_op.f('ix_followup_actions_review_id'))
        batch_op.drop_index(batch_op.f('ix_followup_actions_control_point_id'))
        batch_op.drop_index(batch_op.f('ix_followup_actions_caseworker_id'))

    op.drop_table('followup_actions')
    with op.batch_alter_table('feedback_releases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_releases_round_id'))
        batch_op.drop_index(batch_op.f('ix_feedback_releases_caseworker_id'))

    op.drop_table('feedback_releases')
    with op.batch_alter_table('pending_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_notices_user_id'))
        batch_op.drop_index(batch_op.f('ix_pending_notices_digested_at'))

    op.drop_table('pending_notices')
    op.drop_table('notice_preferences')
    op.drop_table('plan_feedback_settings')
